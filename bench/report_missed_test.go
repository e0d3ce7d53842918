package bench

import (
	"strings"
	"testing"
	"time"
)

// Each MISSED line names the goal, the measured value, the floor it is
// judged against and the ratio (issue 14: it gave only goal and value).
func TestSummaryMissedLinesNameGoalFloorAndRatio(t *testing.T) {
	r := &Report{Opts: Options{Users: 2, Chunks: 10}, Stored: 3, Accepted: 5}
	r.Single.Latency.Count = 1
	r.Single.Latency.P50 = 12 * time.Millisecond
	r.HTTPFloorSingle.Latency.P50 = time.Millisecond
	r.StorageSingle.Latency.P50 = 2 * time.Millisecond
	var b strings.Builder
	r.Summary(&b)
	var missed []string
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "  MISSED: ") {
			missed = append(missed, line)
		}
	}
	want := map[string]bool{
		`  MISSED: goal "every accepted message stored": measured 3 stored of 5 accepted; floor –; ratio to the floor –`: false,
		`  MISSED: goal "service overhead (all but answering) ≤ 3x (HTTP floor + storage floor)": measured one user: p50 12.00 ms (answer time not reported by the server: includes answering); ` +
			`floor one user: HTTP p50 1.00 ms + storage p50 2.00 ms = 3.00 ms; ratio to the floor 4.0x`: false,
	}
	for _, line := range missed {
		if _, ok := want[line]; ok {
			want[line] = true
		}
		for _, part := range []string{"goal ", "measured ", "; floor ", "; ratio to the floor "} {
			if !strings.Contains(line, part) {
				t.Errorf("MISSED line lacks %q: %s", part, line)
			}
		}
	}
	for line, seen := range want {
		if !seen {
			t.Errorf("summary lacks the line\n%s\ngot:\n%s", line, b.String())
		}
	}
}
