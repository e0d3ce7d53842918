package tools

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chatbot/chatbot/internal/netguard"
	"github.com/chatbot/chatbot/store"
)

// seen is one request the fake API received.
type seen struct {
	Method, URI, Body string
	Header            http.Header
}

// fakeAPI is the operator's API over loopback; handle answers each request.
type fakeAPI struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
	hits atomic.Int64
}

func newFakeAPI(t testing.TB, handle http.HandlerFunc) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{Method: r.Method, URI: r.RequestURI, Body: string(body), Header: r.Header.Clone()})
		f.mu.Unlock()
		f.hits.Add(1)
		handle(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) last(t *testing.T) seen {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("the fake API got no request")
	}
	return f.reqs[len(f.reqs)-1]
}

func jsonReply(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, body)
	}
}

type memRecorder struct {
	mu    sync.Mutex
	calls []store.ToolCall
}

func (m *memRecorder) AppendToolCall(c *store.ToolCall) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, *c)
	return nil
}

func (m *memRecorder) all() []store.ToolCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.ToolCall(nil), m.calls...)
}

func loopbackCaller(t *testing.T, rec Recorder) *Caller {
	t.Helper()
	policy, err := netguard.ParseAllowList("loopback")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCaller(Options{Policy: policy, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// apiTool is orderTool pointed at the fake API.
func apiTool(t *testing.T, base string, change func(*Tool)) *Compiled {
	t.Helper()
	tool := orderTool()
	tool.URL = base + "/api/orders/{order_id}?customer={{user_id}}"
	if change != nil {
		change(&tool)
	}
	c, err := Compile(tool)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var ann = Identity{UserID: "cust 7", ConversationID: "c1", Platform: "zendesk"}

func TestCallSendsTheExactRequestOfEachAuthKind(t *testing.T) {
	api := newFakeAPI(t, jsonReply(`{"status":"shipped","shipping":{"eta":"Friday"}}`))
	for _, tc := range []struct {
		name   string
		auth   Auth
		header string // the header carrying the credential
		want   string
	}{
		{"none", Auth{Kind: "none"}, "Authorization", ""},
		{"bearer", Auth{Kind: "bearer", Secret: "tok_123"}, "Authorization", "Bearer tok_123"},
		{"basic", Auth{Kind: "basic", Username: "bot", Secret: "pa ss"}, "Authorization", "Basic Ym90OnBhIHNz"},
		{"api_key", Auth{Kind: "api_key", Header: "X-Api-Key", Secret: "key_9"}, "X-Api-Key", "key_9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := loopbackCaller(t, nil)
			tool := apiTool(t, api.URL, func(tl *Tool) { tl.Auth = tc.auth })
			r := c.Do(context.Background(), Call{Tool: tool, Params: map[string]string{"order_id": "12345"}, Who: ann})
			if r.Outcome != OutcomeOK || r.Status != 200 {
				t.Fatalf("result %+v", r)
			}
			got := api.last(t)
			if got.Method != "GET" || got.URI != "/api/orders/12345?customer=cust+7" || got.Body != "" {
				t.Errorf("request line %s %s body %q", got.Method, got.URI, got.Body)
			}
			if v := got.Header.Get(tc.header); v != tc.want {
				t.Errorf("%s: %q, want %q", tc.header, v, tc.want)
			}
			if got.Header.Get("X-Customer-Id") != "cust 7" || got.Header.Get("Accept") != "application/json" {
				t.Errorf("headers %v", got.Header)
			}
			if tc.name == "api_key" && got.Header.Get("Authorization") != "" {
				t.Errorf("api_key also sent Authorization %q", got.Header.Get("Authorization"))
			}
		})
	}
}

func TestCallPostSendsParamsAsJSON(t *testing.T) {
	api := newFakeAPI(t, jsonReply(`{"status":"open"}`))
	c := loopbackCaller(t, nil)
	tool := apiTool(t, api.URL, func(tl *Tool) {
		tl.Method, tl.ReadOnly, tl.URL = "POST", true, api.URL+"/search"
		tl.Answer, tl.Fields = "It is {status}.", []string{"status"}
	})
	r := c.Do(context.Background(), Call{Tool: tool, Params: map[string]string{"order_id": "12345"}, Who: ann})
	got := api.last(t)
	if r.Outcome != OutcomeOK || got.Method != "POST" || got.URI != "/search" || got.Body != `{"order_id":"12345"}` ||
		got.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%+v %+v", r, got)
	}
}

func TestCallKeepsOnlyAllowedFields(t *testing.T) {
	api := newFakeAPI(t, jsonReply(`{"status":"shipped","internal_note":"flagged for fraud","shipping":{"eta":"Friday","address":"1 Main St"},"n":3}`))
	c := loopbackCaller(t, nil)
	tool := apiTool(t, api.URL, nil)
	r := c.Do(context.Background(), Call{Tool: tool, Params: map[string]string{"order_id": "12345"}, Who: ann})
	if r.Outcome != OutcomeOK || len(r.Fields) != 2 || r.Fields["status"] != "shipped" || r.Fields["shipping.eta"] != "Friday" {
		t.Fatalf("fields %v (%s)", r.Fields, r.Outcome)
	}
}

func TestCallFailures(t *testing.T) {
	big := `{"status":"` + strings.Repeat("x", 2<<20) + `"}`
	for _, tc := range []struct {
		name    string
		handle  http.HandlerFunc
		change  func(*Tool)
		outcome string
		status  int
	}{
		{"500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, `{"error":"boom"}`, 500) }, nil, OutcomeHTTPError, 500},
		{"2 MB response", jsonReply(big), nil, OutcomeTooLarge, 200},
		{"html", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>login</html>")
		}, nil, OutcomeNotJSON, 200},
		{"invalid json", jsonReply(`{"status":`), nil, OutcomeNotJSON, 200},
		{"trailing data", jsonReply(`{"status":"a"} {"status":"b"}`), nil, OutcomeNotJSON, 200},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}, nil, OutcomeRedirect, 302},
		{"slow past timeout", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // answers only when the caller has given up
		}, func(t *Tool) { t.Limits.TimeoutSeconds = 0.3 }, OutcomeTimeout, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t, tc.handle)
			rec := &memRecorder{}
			c := loopbackCaller(t, rec)
			r := c.Do(context.Background(), Call{Tool: apiTool(t, api.URL, tc.change), Params: map[string]string{"order_id": "12345"}, Who: ann})
			if r.Outcome != tc.outcome || r.Status != tc.status || r.Fields != nil {
				t.Fatalf("got %s %d %v (%v), want %s %d", r.Outcome, r.Status, r.Fields, r.Err, tc.outcome, tc.status)
			}
			if api.hits.Load() != 1 {
				t.Errorf("the API was called %d times; redirects are not followed, nothing retried", api.hits.Load())
			}
			calls := rec.all()
			if len(calls) != 1 || calls[0].Outcome != tc.outcome || calls[0].Status != tc.status || calls[0].Tool != "order_status" {
				t.Errorf("recorded %+v", calls)
			}
		})
	}
}

type stubResolver map[string][]netip.Addr

func (s stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := s[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

func TestCallRefusesPrivateAddresses(t *testing.T) {
	api := newFakeAPI(t, jsonReply(`{"status":"shipped"}`))
	_, port, _ := strings.Cut(strings.TrimPrefix(api.URL, "http://"), ":")
	c, err := NewCaller(Options{Resolver: stubResolver{"orders.internal.example": {netip.MustParseAddr("10.1.2.3")}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{api.URL, "http://orders.internal.example:" + port} {
		r := c.Do(context.Background(), Call{Tool: apiTool(t, base, nil), Params: map[string]string{"order_id": "12345"}, Who: ann})
		if r.Outcome != OutcomeBlocked || r.Err == nil || !strings.Contains(r.Err.Error(), "--allow-outgoing") {
			t.Errorf("%s: %+v", base, r)
		}
	}
	if api.hits.Load() != 0 {
		t.Fatalf("a refused address was reached %d times", api.hits.Load())
	}
}

func TestCallBreakerLimitsAndCache(t *testing.T) {
	failing := atomic.Bool{}
	failing.Store(true)
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "down", 503)
			return
		}
		jsonReply(`{"status":"shipped"}`)(w, r)
	})
	c := loopbackCaller(t, nil)
	tool := apiTool(t, api.URL, func(tl *Tool) { tl.Limits.CallsPerUserPerMinute = 600 })
	call := Call{Tool: tool, Params: map[string]string{"order_id": "12345"}, Who: ann}
	for i := 0; i < breakerFailures; i++ {
		if r := c.Do(context.Background(), call); r.Outcome != OutcomeHTTPError {
			t.Fatalf("call %d: %s", i, r.Outcome)
		}
	}
	if r := c.Do(context.Background(), call); r.Outcome != OutcomeBreakerOpen {
		t.Fatalf("after %d failures: %s", breakerFailures, r.Outcome)
	}
	if api.hits.Load() != breakerFailures {
		t.Fatalf("the open breaker let a call through: %d hits", api.hits.Load())
	}

	// Per-user limit: 2 per minute, a third is refused; another user is not.
	failing.Store(false)
	limited := apiTool(t, api.URL, func(tl *Tool) { tl.Name = "limited"; tl.Limits.CallsPerUserPerMinute = 2 })
	for i, want := range []string{OutcomeOK, OutcomeOK, OutcomeRateLimited} {
		if r := c.Do(context.Background(), Call{Tool: limited, Params: call.Params, Who: ann, Scope: "webhook:1"}); r.Outcome != want {
			t.Fatalf("call %d: %s, want %s", i, r.Outcome, want)
		}
	}
	bob := Identity{UserID: "bob"}
	if r := c.Do(context.Background(), Call{Tool: limited, Params: call.Params, Who: bob, Scope: "webhook:1"}); r.Outcome != OutcomeOK {
		t.Fatalf("another user: %s", r.Outcome)
	}

	// Cache: the same request within the cache time is not sent again;
	// another user's (another identity header) is.
	cached := apiTool(t, api.URL, func(tl *Tool) { tl.Name = "cached"; tl.Limits.CacheSeconds = 60 })
	before := api.hits.Load()
	for i, want := range []string{OutcomeOK, OutcomeCached} {
		r := c.Do(context.Background(), Call{Tool: cached, Params: call.Params, Who: ann})
		if r.Outcome != want || r.Fields["status"] != "shipped" {
			t.Fatalf("cached call %d: %+v", i, r)
		}
	}
	c.Do(context.Background(), Call{Tool: cached, Params: call.Params, Who: bob})
	if got := api.hits.Load() - before; got != 2 {
		t.Fatalf("cache: %d requests, want 2 (one per user)", got)
	}
}

func TestCallRecordScrubsSecrets(t *testing.T) {
	api := newFakeAPI(t, jsonReply(`{"status":"shipped"}`))
	rec := &memRecorder{}
	c := loopbackCaller(t, rec)
	tool := apiTool(t, api.URL, func(tl *Tool) {
		tl.URL = api.URL + "/api/orders/{order_id}?pin={pin}&c={{user_id}}"
		tl.Params = append(tl.Params, Param{Name: "pin", Sensitive: true})
		tl.Params[0].Pattern = ""
	})
	c.Do(context.Background(), Call{Tool: tool, Params: map[string]string{"order_id": "x sk_test_123456789 y", "pin": "4321"}, Who: ann})
	calls := rec.all()
	if len(calls) != 1 || calls[0].Params["pin"] != "[redacted]" || calls[0].Params["order_id"] != "[redacted]" ||
		calls[0].UserID != "cust 7" || calls[0].ConversationID != "c1" {
		t.Fatalf("recorded %+v", calls)
	}
}

type promLines struct{ b strings.Builder }

func (p *promLines) Family(name, typ, _ string) { fmt.Fprintf(&p.b, "# %s %s\n", name, typ) }
func (p *promLines) Sample(name string, v float64, labels ...string) {
	fmt.Fprintf(&p.b, "%s%v %g\n", name, labels, v)
}

func TestCollect(t *testing.T) {
	api := newFakeAPI(t, jsonReply(`{"status":"shipped"}`))
	c := loopbackCaller(t, nil)
	tool := apiTool(t, api.URL, nil)
	c.Do(context.Background(), Call{Tool: tool, Params: map[string]string{"order_id": "12345"}, Who: ann})
	c.Do(context.Background(), Call{Tool: tool, Params: map[string]string{}, Who: ann}) // no order id: bad request
	var w promLines
	c.Collect(&w)
	out := w.b.String()
	for _, want := range []string{
		"# chatbot_tool_calls_total counter\n",
		"chatbot_tool_calls_total[tool order_status outcome bad_request] 1\n",
		"chatbot_tool_calls_total[tool order_status outcome ok] 1\n",
		"chatbot_tool_call_duration_seconds_bucket[tool order_status le +Inf] 2\n",
		"chatbot_tool_call_duration_seconds_count[tool order_status] 2\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}
