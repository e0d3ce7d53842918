package widget

import (
	"sync"
	"time"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/metrics"
)

// Widget limiter bounds.
const (
	// widgetCeiling is how many visitors' worth of requests a widget takes
	// per minute in all: its rate per visitor address times this.
	widgetCeiling = 20
	// maxWidgetBuckets bounds the limiter's memory; past it, full buckets
	// (which hold no information) go first, then arbitrary ones.
	maxWidgetBuckets = 10000
)

// limiter keeps a token bucket per widget and visitor address (an IPv6
// visitor by /64) at the widget's rate, and one per widget at
// widgetCeiling times that, so one visitor cannot use up the widget for
// everyone and many cannot overload it. The buckets are the shared
// httpapi.Limiter; this type only names the keys. It also counts the
// widget's request outcomes for /metrics.
type limiter struct {
	buckets  *httpapi.Limiter[bucketKey]
	mu       sync.Mutex // guards outcomes
	outcomes map[string]uint64
}

type bucketKey struct {
	widget uint64
	client string // "" for the widget-wide ceiling
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{buckets: httpapi.NewLimiter[bucketKey](maxWidgetBuckets, now), outcomes: map[string]uint64{}}
}

// take spends one request of visitor client on widget id, allowed
// perMinute per minute per visitor (with a burst of the same size) and
// widgetCeiling times that for the widget. It spends nothing and returns
// how long to wait when either bucket is empty.
func (l *limiter) take(id uint64, client string, perMinute int) time.Duration {
	_, wait := l.buckets.TakeAll(
		httpapi.Ask[bucketKey]{Key: bucketKey{id, httpapi.ThrottleKey(client)}, PerMinute: perMinute},
		httpapi.Ask[bucketKey]{Key: bucketKey{id, ""}, PerMinute: perMinute * widgetCeiling})
	return wait
}

// pollBucket keeps a widget's polls apart from its chat requests in the
// limiter (widget ids are bbolt sequences, far below 2^63).
func pollBucket(id uint64) uint64 { return id | 1<<63 }

// forget drops a widget's buckets after its settings change.
func (l *limiter) forget(id uint64) {
	l.buckets.Forget(func(k bucketKey) bool { return k.widget == id || k.widget == pollBucket(id) })
}

func (l *limiter) size() int { return l.buckets.Len() }

func (l *limiter) count(outcome string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outcomes[outcome]++
}

func (l *limiter) collect(w *metrics.PromWriter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w.Family("chatbot_widget_requests_total", "counter", "Widget chat requests, by outcome.")
	for _, o := range []string{"answered", "refused", "rate_limited", "invalid", "unavailable", "error"} {
		w.Sample("chatbot_widget_requests_total", float64(l.outcomes[o]), "outcome", o)
	}
}
