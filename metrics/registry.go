// Package metrics is the Prometheus endpoint (/metrics): a registry of
// request counters and latency histograms filled by Middleware, and
// collectors that other packages (the panel, the webhook, the widget, the
// wiring) register to write their families at scrape time. It imports no
// package that registers on it.
package metrics

import (
	"io"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/mux"
)

// latencyBuckets are the upper bounds (seconds) of the request histogram.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Collector writes some metric families when /metrics is read. Other
// packages add theirs with Registry.AddCollector.
type Collector func(w *PromWriter)

// Registry holds the HTTP request counters and histograms and the
// collectors read at scrape time. It writes Prometheus' text format.
type Registry struct {
	mu         sync.Mutex
	requests   map[requestKey]uint64
	latency    map[string]*histogram // by route
	collectors []Collector
	start      time.Time
}

type requestKey struct{ method, route, code string }

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	n      uint64
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{requests: map[requestKey]uint64{}, latency: map[string]*histogram{}, start: time.Now()}
}

// AddCollector registers c to be called on every scrape.
func (m *Registry) AddCollector(c Collector) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.collectors = append(m.collectors, c)
}

// knownMethods are the method label values; any other method a client
// makes up is counted as "OTHER", so clients cannot add series at will.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
	http.MethodConnect: true, http.MethodTrace: true,
}

// methodLabel is method if it is a standard one, else "OTHER".
func methodLabel(method string) string {
	if knownMethods[method] {
		return method
	}
	return "OTHER"
}

// Observe records one finished request. Methods outside the standard
// ones are counted as "OTHER".
func (m *Registry) Observe(method, route string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[requestKey{methodLabel(method), route, strconv.Itoa(code)}]++
	h := m.latency[route]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(latencyBuckets))}
		m.latency[route] = h
	}
	s := d.Seconds()
	for i, b := range latencyBuckets {
		if s <= b {
			h.counts[i]++
			break
		}
	}
	h.sum += s
	h.n++
}

// RouteOf labels a request with its route template on r ("/api/webhook/config/{id}"),
// or "other", so that label values stay few whatever paths clients send.
func RouteOf(r *mux.Router) func(*http.Request) string {
	return func(req *http.Request) string {
		var m mux.RouteMatch
		if r.Match(req, &m) && m.Route != nil {
			if t, err := m.Route.GetPathTemplate(); err == nil {
				return t
			}
		}
		return "other"
	}
}

// Middleware counts and times every request, labelled by route.
func (m *Registry) Middleware(route func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &codeRecorder{ResponseWriter: w}
			name := route(r)
			defer func() {
				code := rec.code
				if code == 0 {
					code = http.StatusOK
				}
				m.Observe(r.Method, name, code, time.Since(start))
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

type codeRecorder struct {
	http.ResponseWriter
	code int
}

func (c *codeRecorder) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *codeRecorder) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return c.ResponseWriter.Write(b)
}

func (c *codeRecorder) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *codeRecorder) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// WriteTo writes every metric in Prometheus text format 0.0.4.
func (m *Registry) WriteTo(out io.Writer) (int64, error) {
	w := &PromWriter{}
	m.mu.Lock()
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.route != b.route {
			return a.route < b.route
		}
		if a.method != b.method {
			return a.method < b.method
		}
		return a.code < b.code
	})
	w.Family("chatbot_http_requests_total", "counter", "HTTP requests served, by method, route and status code.")
	for _, k := range keys {
		w.Sample("chatbot_http_requests_total", float64(m.requests[k]), "method", k.method, "route", k.route, "code", k.code)
	}
	routes := make([]string, 0, len(m.latency))
	for r := range m.latency {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	w.Family("chatbot_http_request_duration_seconds", "histogram", "HTTP request latency, by route.")
	for _, r := range routes {
		h := m.latency[r]
		var cum uint64
		for i, b := range latencyBuckets {
			cum += h.counts[i]
			w.Sample("chatbot_http_request_duration_seconds_bucket", float64(cum), "route", r, "le", formatFloat(b))
		}
		w.Sample("chatbot_http_request_duration_seconds_bucket", float64(h.n), "route", r, "le", "+Inf")
		w.Sample("chatbot_http_request_duration_seconds_sum", h.sum, "route", r)
		w.Sample("chatbot_http_request_duration_seconds_count", float64(h.n), "route", r)
	}
	collectors := append([]Collector(nil), m.collectors...)
	m.mu.Unlock()

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Gauge("go_goroutines", "Goroutines that currently exist.", float64(runtime.NumGoroutine()))
	w.Gauge("go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects.", float64(ms.HeapAlloc))
	w.Gauge("go_memstats_sys_bytes", "Bytes of memory obtained from the OS.", float64(ms.Sys))
	w.Counter("go_gc_cycles_total", "Completed GC cycles.", float64(ms.NumGC))
	w.Gauge("process_start_time_seconds", "Start time of the process since the Unix epoch.", float64(m.start.Unix()))
	for _, c := range collectors {
		c(w)
	}
	n, err := io.WriteString(out, w.b.String())
	return int64(n), err
}
