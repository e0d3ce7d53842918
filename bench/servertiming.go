package bench

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// answerTiming collects the service's own answer time from each
// response's Server-Timing header ("answer;dur=1.734", milliseconds to
// the microsecond). The stored latency_ms is whole milliseconds, so an
// answer of 1.9 ms counted as 1 and the overhead around it looked 0.9 ms
// larger than it is.
type answerTiming struct {
	mu   sync.Mutex
	durs []time.Duration
}

func (a *answerTiming) add(h http.Header) {
	if d, ok := serverTimingDur(h, "answer"); ok {
		a.mu.Lock()
		a.durs = append(a.durs, d)
		a.mu.Unlock()
	}
}

func (a *answerTiming) latency() Latency {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Summarize(a.durs)
}

// serverTimingDur reads metric name's dur from a Server-Timing header:
// comma-separated metrics, each a name and ;-separated parameters.
func serverTimingDur(h http.Header, name string) (time.Duration, bool) {
	for _, line := range h.Values("Server-Timing") {
		for metric := range strings.SplitSeq(line, ",") {
			parts := strings.Split(metric, ";")
			if strings.TrimSpace(parts[0]) != name {
				continue
			}
			for _, p := range parts[1:] {
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok || k != "dur" {
					continue
				}
				ms, err := strconv.ParseFloat(strings.Trim(v, `"`), 64)
				if err != nil || ms < 0 || ms > 3.6e6 {
					return 0, false
				}
				return time.Duration(ms * float64(time.Millisecond)), true
			}
		}
	}
	return 0, false
}
