package bench

import (
	"net/http"
	"testing"
	"time"
)

func TestServerTimingDur(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"answer;dur=1.734", 1734 * time.Microsecond, true},
		{`db;dur=53, answer;desc="engine";dur="0.250"`, 250 * time.Microsecond, true},
		{"answer", 0, false},
		{"answers;dur=2", 0, false},
		{"answer;dur=abc", 0, false},
		{"answer;dur=-1", 0, false},
		{"", 0, false},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Server-Timing", tc.header)
		}
		got, ok := serverTimingDur(h, "answer")
		if got != tc.want || ok != tc.ok {
			t.Errorf("serverTimingDur(%q) = %v, %v; want %v, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
	var a answerTiming
	for _, v := range []string{"answer;dur=1", "answer;dur=3", "x;dur=9", "answer;dur=2"} {
		a.add(http.Header{"Server-Timing": {v}})
	}
	if l := a.latency(); l.Count != 3 || l.P50 != 2*time.Millisecond {
		t.Fatalf("latency = %+v; want 3 samples, p50 2 ms", l)
	}
}
