package admin

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/llm"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// latencyBuckets are the upper bounds (seconds) of the request histogram.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Collector writes some metric families when /metrics is read. Other
// packages add theirs with Metrics.AddCollector.
type Collector func(w *PromWriter)

// Metrics holds the HTTP request counters and histograms and the
// collectors read at scrape time. It writes Prometheus' text format.
type Metrics struct {
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

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics {
	return &Metrics{requests: map[requestKey]uint64{}, latency: map[string]*histogram{}, start: time.Now()}
}

// AddCollector registers c to be called on every scrape.
func (m *Metrics) AddCollector(c Collector) {
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
func (m *Metrics) Observe(method, route string, code int, d time.Duration) {
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
func (m *Metrics) Middleware(route func(*http.Request) string) func(http.Handler) http.Handler {
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
func (m *Metrics) WriteTo(out io.Writer) (int64, error) {
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

// PromWriter builds Prometheus text: a family's HELP and TYPE once, then
// its samples, with label values escaped.
type PromWriter struct {
	b strings.Builder
}

// Family writes the HELP and TYPE lines of a metric family.
func (w *PromWriter) Family(name, typ, help string) {
	fmt.Fprintf(&w.b, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

// Sample writes one sample; labels are name, value pairs.
func (w *PromWriter) Sample(name string, v float64, labels ...string) {
	w.b.WriteString(name)
	if len(labels) > 0 {
		w.b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				w.b.WriteByte(',')
			}
			fmt.Fprintf(&w.b, "%s=\"%s\"", labels[i], escapeLabel(labels[i+1]))
		}
		w.b.WriteByte('}')
	}
	w.b.WriteByte(' ')
	w.b.WriteString(formatFloat(v))
	w.b.WriteByte('\n')
}

// Gauge writes a one-sample gauge family.
func (w *PromWriter) Gauge(name, help string, v float64) {
	w.Family(name, "gauge", help)
	w.Sample(name, v)
}

// Counter writes a one-sample counter family.
func (w *PromWriter) Counter(name, help string, v float64) {
	w.Family(name, "counter", help)
	w.Sample(name, v)
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

// storeMetrics reads gauges from the store at scrape time.
func (h *Handler) storeMetrics(w *PromWriter) {
	keys, err := h.st.BucketKeys()
	if err == nil {
		w.Gauge("chatbot_delivery_queue_depth", "Outgoing deliveries waiting or retrying.", float64(keys["delivery_jobs"]))
		w.Gauge("chatbot_webhook_integrations", "Configured webhook integrations.", float64(keys["webhook_configs"]))
		w.Gauge("chatbot_widgets", "Configured website widgets.", float64(keys["widgets"]))
		w.Gauge("chatbot_messages_stored", "Messages in the history.", float64(keys["messages"]))
	}
	if size, err := h.st.Size(); err == nil {
		w.Gauge("chatbot_database_bytes", "Size of the bbolt database file.", float64(size))
	}
	if st, err := h.st.MessageStats(h.now().Add(-24*time.Hour), time.Hour); err == nil {
		w.Family("chatbot_incoming_messages_24h", "gauge", "Incoming messages of the last 24 hours, by platform.")
		byPlatform := h.platformLabels(st.Incoming)
		for _, p := range sortedKeys(byPlatform) {
			w.Sample("chatbot_incoming_messages_24h", float64(byPlatform[p]), "platform", p)
		}
		w.Family("chatbot_outgoing_messages_24h", "gauge", "Outgoing messages of the last 24 hours, by delivery status.")
		for _, s := range []store.Status{store.StatusPending, store.StatusSent, store.StatusFailed} {
			w.Sample("chatbot_outgoing_messages_24h", float64(st.Outgoing[s]), "status", string(s))
		}
		w.Family("chatbot_answer_latency_24h_seconds", "gauge", "Answer latency over the last 24 hours.")
		w.Sample("chatbot_answer_latency_24h_seconds", float64(st.LatencyP50)/1000, "quantile", "0.5")
		w.Sample("chatbot_answer_latency_24h_seconds", float64(st.LatencyP95)/1000, "quantile", "0.95")
	}
	w.Gauge("chatbot_admin_sessions", "Live admin panel sessions.", float64(h.sessions.count()))
	h.widgets.collect(w)
}

// knownPlatforms are platform label values whatever is configured: the
// documented platforms and the website widget.
var knownPlatforms = map[string]bool{"freshchat": true, "zendesk": true, "intercom": true, "chatwoot": true, WidgetPlatform: true}

// platformLabels sums the counts of platforms that are neither known nor
// the provider of a configured integration (those of deleted integrations)
// under "other", so the label's values stay as few as the integrations.
func (h *Handler) platformLabels(counts map[string]int) map[string]int {
	configured := map[string]bool{}
	if cfgs, err := h.st.Configs(); err == nil {
		for _, c := range cfgs {
			configured[c.Provider] = true
		}
	}
	out := make(map[string]int, len(counts))
	for p, n := range counts {
		if !knownPlatforms[p] && !configured[p] {
			p = "other"
		}
		out[p] += n
	}
	return out
}

// requireMetrics accepts the metrics token (when configured), else
// whatever the admin API accepts.
func (h *Handler) requireMetrics(next http.Handler) http.Handler {
	admin := h.opts.Auth.Require(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.opts.MetricsTokenHash != "" {
			if tok, err := httpapi.BearerToken(r); err == nil && secret.Equal(tok, h.opts.MetricsTokenHash) {
				next.ServeHTTP(w, r)
				return
			}
		}
		admin.ServeHTTP(w, r)
	})
}

func (h *Handler) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if _, err := h.metrics.WriteTo(w); err != nil {
		h.log.DebugContext(r.Context(), "metrics write", "err", err)
	}
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// LLMHosts is one backend's servers for /metrics: kind is "chat" or
// "embed", hosts their state (llm.Pool.Stats).
type LLMHosts struct {
	Kind  string
	Hosts []llm.HostStats
}

// WriteLLMHosts writes the per-server series of the language-model
// backends: health, calls in flight and the limit, calls, errors and the
// latency of successful calls (a summary without quantiles: sum and count).
func WriteLLMHosts(w *PromWriter, backends []LLMHosts) {
	type series struct {
		name, typ, help string
		value           func(llm.HostStats) float64
	}
	all := []series{
		{"chatbot_llm_host_up", "gauge", "1 when a language-model server is taken into use, 0 while its breaker is open or it asked us to wait (HTTP 429).",
			func(h llm.HostStats) float64 {
				if h.State == "ok" {
					return 1
				}
				return 0
			}},
		{"chatbot_llm_host_in_flight", "gauge", "Calls in flight on a language-model server.", func(h llm.HostStats) float64 { return float64(h.InFlight) }},
		{"chatbot_llm_host_limit", "gauge", "Generations a language-model server is given at once.", func(h llm.HostStats) float64 { return float64(h.Limit) }},
		{"chatbot_llm_host_calls_total", "counter", "Calls sent to a language-model server.", func(h llm.HostStats) float64 { return float64(h.Calls) }},
		{"chatbot_llm_host_errors_total", "counter", "Calls that failed on a language-model server (counted against its breaker).", func(h llm.HostStats) float64 { return float64(h.Errors) }},
	}
	for _, s := range all {
		w.Family(s.name, s.typ, s.help)
		for _, b := range backends {
			for _, h := range b.Hosts {
				w.Sample(s.name, s.value(h), "kind", b.Kind, "host", h.URL)
			}
		}
	}
	w.Family("chatbot_llm_host_latency_seconds", "summary", "Latency of the successful calls to a language-model server (a whole generation for chat).")
	for _, b := range backends {
		for _, h := range b.Hosts {
			w.Sample("chatbot_llm_host_latency_seconds_sum", h.LatencySeconds, "kind", b.Kind, "host", h.URL)
			w.Sample("chatbot_llm_host_latency_seconds_count", float64(h.LatencyCount), "kind", b.Kind, "host", h.URL)
		}
	}
}

// Breaker is one integration's delivery circuit breaker, as /metrics shows
// it (the webhook worker's BreakerStatus, without importing webhook).
type Breaker struct {
	ConfigID            uint64
	State               string // "closed", "open" or "half-open"
	ConsecutiveFailures int
	NextAttemptAt       time.Time // zero when closed
}

// breakerStateValue encodes a breaker state as a gauge value.
var breakerStateValue = map[string]float64{"closed": 0, "open": 1, "half-open": 2}

// WriteBreakers writes the delivery circuit breakers: one series per
// integration in each family, so their number is bounded by the
// integrations configured.
func WriteBreakers(w *PromWriter, list []Breaker) {
	w.Family("chatbot_delivery_breaker_state", "gauge",
		"Delivery circuit breaker by integration: 0 closed (deliveries flow), 1 open (held until the next attempt), 2 half-open (one probe in flight).")
	for _, b := range list {
		w.Sample("chatbot_delivery_breaker_state", breakerStateValue[b.State], "config", strconv.FormatUint(b.ConfigID, 10))
	}
	w.Family("chatbot_delivery_breaker_consecutive_failures", "gauge", "Delivery attempts that failed in a row, by integration.")
	for _, b := range list {
		w.Sample("chatbot_delivery_breaker_consecutive_failures", float64(b.ConsecutiveFailures), "config", strconv.FormatUint(b.ConfigID, 10))
	}
	w.Family("chatbot_delivery_breaker_next_attempt_timestamp_seconds", "gauge",
		"When a held integration's next delivery may go (Unix time); 0 when its breaker is closed.")
	for _, b := range list {
		v := 0.0
		if !b.NextAttemptAt.IsZero() {
			v = float64(b.NextAttemptAt.Unix())
		}
		w.Sample("chatbot_delivery_breaker_next_attempt_timestamp_seconds", v, "config", strconv.FormatUint(b.ConfigID, 10))
	}
}
