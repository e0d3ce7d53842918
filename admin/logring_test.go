package admin

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestLogRing(t *testing.T) {
	var out bytes.Buffer
	inner := slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelError})
	ring := NewLogRing(3)
	log := slog.New(ring.Handler(inner)).With("component", "delivery").WithGroup("job")
	log.Info("not kept")
	log.Warn("retrying", "id", 7, "auth_token", "s3cret", slog.Group("http", "status", 500))
	log.Error("gave up", "id", 7, "text", strings.Repeat("é", 1000))

	recs := ring.Records(slog.LevelWarn, "", 0)
	if len(recs) != 2 || recs[0].Message != "gave up" || recs[1].Message != "retrying" {
		t.Fatalf("records %+v", recs)
	}
	want := map[string]string{"component": "delivery", "job.id": "7", "job.auth_token": "[redacted]", "job.http.status": "500"}
	for k, v := range want {
		if recs[1].Attrs[k] != v {
			t.Errorf("attr %s = %q, want %q (all: %v)", k, recs[1].Attrs[k], v, recs[1].Attrs)
		}
	}
	if got := recs[0].Attrs["job.text"]; len(got) > maxLogValue+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("long value not capped: %d bytes", len(got))
	}
	if recs[1].Level != "WARN" || recs[0].Level != "ERROR" {
		t.Errorf("levels %q %q", recs[1].Level, recs[0].Level)
	}
	// The inner handler still gets what its level allows, and only that.
	if s := out.String(); !strings.Contains(s, "gave up") || strings.Contains(s, "retrying") || strings.Contains(s, "not kept") {
		t.Errorf("inner output:\n%s", s)
	}

	for i := range 5 {
		log.Warn(fmt.Sprintf("w%d", i))
	}
	recs = ring.Records(slog.LevelWarn, "", 0)
	if len(recs) != 3 || recs[0].Message != "w4" || recs[2].Message != "w2" {
		t.Fatalf("after wrap: %+v", recs)
	}
	if recs := ring.Records(slog.LevelError, "", 0); len(recs) != 0 {
		t.Errorf("errors after wrap: %+v", recs)
	}
	if recs := ring.Records(slog.LevelWarn, "W3", 0); len(recs) != 1 || recs[0].Message != "w3" {
		t.Errorf("query: %+v", recs)
	}
	if recs := ring.Records(slog.LevelWarn, "", 2); len(recs) != 2 {
		t.Errorf("limit: %d", len(recs))
	}
}
