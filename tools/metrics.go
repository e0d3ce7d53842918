package tools

import (
	"sort"
	"strconv"
	"sync"
	"time"
)

// latencyBuckets are the upper bounds (seconds) of the call histogram.
var latencyBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// MetricsWriter writes Prometheus' text format: *admin.PromWriter is one
// (kept as an interface so that this package needs no admin import).
type MetricsWriter interface {
	Family(name, typ, help string)
	Sample(name string, v float64, labels ...string)
}

type metrics struct {
	mu      sync.Mutex
	calls   map[[2]string]uint64 // tool, outcome
	latency map[string]*histogram
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func newMetrics() *metrics {
	return &metrics{calls: map[[2]string]uint64{}, latency: map[string]*histogram{}}
}

func (m *metrics) observe(tool, outcome string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[[2]string{tool, outcome}]++
	h := m.latency[tool]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(latencyBuckets)+1)}
		m.latency[tool] = h
	}
	s := d.Seconds()
	i := sort.SearchFloat64s(latencyBuckets, s)
	h.counts[i]++
	h.sum += s
	h.n++
}

// Collect writes chatbot_tool_calls_total{tool,outcome} and the
// chatbot_tool_call_duration_seconds{tool} histogram.
func (c *Caller) Collect(w MetricsWriter) {
	m := c.metrics
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([][2]string, 0, len(m.calls))
	for k := range m.calls {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"\x00"+keys[i][1] < keys[j][0]+"\x00"+keys[j][1] })
	w.Family("chatbot_tool_calls_total", "counter", "API tool calls by tool and outcome.")
	for _, k := range keys {
		w.Sample("chatbot_tool_calls_total", float64(m.calls[k]), "tool", k[0], "outcome", k[1])
	}
	tools := make([]string, 0, len(m.latency))
	for t := range m.latency {
		tools = append(tools, t)
	}
	sort.Strings(tools)
	w.Family("chatbot_tool_call_duration_seconds", "histogram", "API tool call latency, cached and refused calls included.")
	for _, t := range tools {
		h := m.latency[t]
		var cum uint64
		for i, le := range latencyBuckets {
			cum += h.counts[i]
			w.Sample("chatbot_tool_call_duration_seconds_bucket", float64(cum), "tool", t, "le", strconv.FormatFloat(le, 'g', -1, 64))
		}
		w.Sample("chatbot_tool_call_duration_seconds_bucket", float64(h.n), "tool", t, "le", "+Inf")
		w.Sample("chatbot_tool_call_duration_seconds_sum", h.sum, "tool", t)
		w.Sample("chatbot_tool_call_duration_seconds_count", float64(h.n), "tool", t)
	}
}
