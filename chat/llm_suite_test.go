package chat

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The shared suite: the same behaviour asked of both backends, each
// against its fake server (fakeOllama, fakeOpenAI).

// knobs are the client settings the suite varies.
type knobs struct {
	failureThreshold, maxGenerations, queueSize int
}

// llmKind is one backend under test.
type llmKind struct {
	name string
	// server starts a fake; its functions switch its mode, count its chat
	// requests and say where it is.
	server func(t *testing.T) fakeServer
	// client is a client of the given servers.
	client func(t *testing.T, urls []*url.URL, k knobs) *Client
	// notFound is what the breaker's reason says for a missing model.
	notFound string
	// lastRequest returns the model, the token cap and whether it streamed.
	lastRequest func(s fakeServer) (model string, maxTokens int, stream bool)
}

type fakeServer struct {
	setMode  func(string)
	requests func() int
	url      func() *url.URL
	impl     any
}

var llmKinds = []llmKind{
	{
		name: "ollama",
		server: func(t *testing.T) fakeServer {
			f := newFakeOllama(t)
			return fakeServer{setMode: f.setMode, requests: func() int { return len(f.chatRequests()) }, url: f.url, impl: f}
		},
		client: func(t *testing.T, urls []*url.URL, k knobs) *Client {
			return newTestOllama(t, nil, func(c *OllamaConfig) {
				c.BaseURLs, c.FailureThreshold, c.QueueSize = urls, k.failureThreshold, k.queueSize
				if k.maxGenerations > 0 {
					c.MaxGenerations = k.maxGenerations
				}
			})
		},
		notFound: "ollama pull llama3.2",
		lastRequest: func(s fakeServer) (string, int, bool) {
			reqs := s.impl.(*fakeOllama).chatRequests()
			r := reqs[len(reqs)-1]
			n, _ := r.Options["num_predict"].(float64)
			return r.Model, int(n), r.Stream != nil && *r.Stream
		},
	},
	{
		name: "openai",
		server: func(t *testing.T) fakeServer {
			f := newFakeOpenAI(t)
			return fakeServer{setMode: f.setMode, requests: func() int { return len(f.chatRequests()) }, url: f.url, impl: f}
		},
		client: func(t *testing.T, urls []*url.URL, k knobs) *Client {
			return newTestOpenAI(t, urls, func(c *OpenAIConfig) {
				c.FailureThreshold, c.QueueSize = k.failureThreshold, k.queueSize
				if k.maxGenerations > 0 {
					c.MaxGenerations = k.maxGenerations
				}
			})
		},
		notFound: "not found; check --chat-model",
		lastRequest: func(s fakeServer) (string, int, bool) {
			reqs := s.impl.(*fakeOpenAI).chatRequests()
			r := reqs[len(reqs)-1]
			return r.Model, r.MaxTokens, r.Stream
		},
	},
}

func newTestOpenAI(t *testing.T, urls []*url.URL, tweak func(*OpenAIConfig)) *Client {
	t.Helper()
	cfg := OpenAIConfig{BaseURLs: urls, APIKey: "sk-test", KeySource: "CHATBOT_LLM_API_KEY", ChatModel: "llama3.2",
		MaxGenerations: 2, NumPredict: 64, RecheckInterval: time.Hour}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := NewOpenAI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// serverURL is the fake's URL, or for "refuse" an address nothing listens on.
func serverURL(t *testing.T, s fakeServer, mode string) *url.URL {
	if mode != "refuse" {
		return s.url()
	}
	u := refusingURL(t)
	if s.url().Path != "" {
		u.Path = s.url().Path
	}
	return u
}

func forEachKind(t *testing.T, f func(t *testing.T, k llmKind)) {
	for _, k := range llmKinds {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

func TestSuiteStreamsTheAnswer(t *testing.T) {
	forEachKind(t, func(t *testing.T, k llmKind) {
		s := k.server(t)
		c := k.client(t, []*url.URL{s.url()}, knobs{})
		var pieces []string
		got, err := c.ChatStream(context.Background(), hello, func(p string) { pieces = append(pieces, p) })
		if err != nil || got != "You can get a refund within 30 days [1]." {
			t.Fatalf("Chat = %q, %v", got, err)
		}
		if len(pieces) != 9 || strings.Join(pieces, "") != got {
			t.Fatalf("streamed pieces = %q", pieces)
		}
		if m, n, stream := k.lastRequest(s); m != "llama3.2" || n != 64 || !stream {
			t.Fatalf("request: model %q, max tokens %d, stream %v", m, n, stream)
		}
		if st := c.State(); st.Mode != k.name || st.State != "ok" || len(st.Hosts) != 1 || st.Hosts[0].Calls != 1 || st.Hosts[0].LatencyCount != 1 {
			t.Fatalf("state = %+v", st)
		}
	})
}

func TestSuiteFailures(t *testing.T) {
	tests := []struct {
		mode      string
		want      error
		wantText  string
		opensNow  bool
		wantState string
	}{
		{mode: "refuse", wantText: "connection refused", opensNow: true, wantState: "connection refused"},
		{mode: "500", wantText: "llama runner process has terminated", wantState: "HTTP 500"},
		{mode: "404", wantText: "HTTP 404", opensNow: true},
		{mode: "hang", want: context.DeadlineExceeded, wantState: "timed out"},
		{mode: "half", want: ErrLLMIncomplete, wantState: "stream dropped"},
	}
	forEachKind(t, func(t *testing.T, k llmKind) {
		for _, tt := range tests {
			t.Run(tt.mode, func(t *testing.T) {
				s := k.server(t)
				s.setMode(tt.mode)
				c := k.client(t, []*url.URL{serverURL(t, s, tt.mode)}, knobs{failureThreshold: 3})
				wantState := tt.wantState
				if tt.mode == "404" {
					wantState = k.notFound
				}
				for i := range 3 {
					timeout := 10 * time.Second // the machine is busy; only "hang" waits for it
					if tt.mode == "hang" {
						timeout = 300 * time.Millisecond
					}
					ctx, cancel := context.WithTimeout(context.Background(), timeout)
					_, err := c.Chat(ctx, hello)
					cancel()
					if err == nil {
						t.Fatalf("call %d: no error", i)
					}
					if tt.want != nil && !errors.Is(err, tt.want) {
						t.Fatalf("call %d: err = %v, want %v", i, err, tt.want)
					}
					if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
						t.Fatalf("call %d: err = %v, want it to mention %q", i, err, tt.wantText)
					}
					if i == 0 && c.Ready() == tt.opensNow {
						t.Fatalf("after the first failure Ready = %v", c.Ready())
					}
					if !c.Ready() {
						break
					}
				}
				st := c.State()
				if st.State != "down" || !strings.Contains(st.Reason, wantState) {
					t.Fatalf("state = %+v, want down with %q", st, wantState)
				}
				before := s.requests()
				if _, err := c.Chat(context.Background(), hello); !errors.Is(err, ErrLLMDown) {
					t.Fatalf("open breaker: err = %v", err)
				}
				if n := s.requests(); n != before {
					t.Fatalf("open breaker reached the server (%d -> %d)", before, n)
				}
			})
		}
	})
}

// TestSuiteCounts: every call is counted, and each failure under its reason.
func TestSuiteCounts(t *testing.T) {
	tests := []struct {
		mode    string
		timeout time.Duration
		reason  string
	}{
		{mode: "ok"},
		{mode: "500", reason: "http_status"},
		{mode: "404", reason: "model_not_found"},
		{mode: "refuse", reason: "connection"},
		{mode: "hang", timeout: 100 * time.Millisecond, reason: "timeout"},
		{mode: "half", reason: "incomplete"},
		{mode: "empty", reason: "empty"},
	}
	forEachKind(t, func(t *testing.T, k llmKind) {
		for _, tt := range tests {
			t.Run(tt.mode, func(t *testing.T) {
				s := k.server(t)
				s.setMode(tt.mode)
				c := k.client(t, []*url.URL{serverURL(t, s, tt.mode)}, knobs{})
				ctx := context.Background()
				if tt.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					defer cancel()
				}
				_, err := c.Chat(ctx, hello)
				if (err == nil) != (tt.reason == "") {
					t.Fatalf("err = %v", err)
				}
				want := map[string]uint64{}
				for _, r := range LLMFailureReasons {
					want[r] = 0
				}
				if tt.reason != "" {
					want[tt.reason] = 1
				}
				if got := c.Counts(); got.Calls != 1 || !maps.Equal(got.Failures, want) {
					t.Fatalf("counts = %+v, want 1 call and failures %v", got, want)
				}
				if tt.mode == "empty" && !c.Ready() {
					t.Fatal("an empty answer opened the breaker")
				}
			})
		}
	})
}

// A generation that fails before its first token is tried once more on
// the other host; the caller sees the answer, and the failing host is
// counted.
func TestSuiteRetriesOnAnotherHostBeforeTheFirstToken(t *testing.T) {
	forEachKind(t, func(t *testing.T, k llmKind) {
		bad, good := k.server(t), k.server(t)
		bad.setMode("500")
		c := k.client(t, []*url.URL{bad.url(), good.url()}, knobs{maxGenerations: 1})
		got, err := c.Chat(context.Background(), hello)
		if err != nil || got != "You can get a refund within 30 days [1]." {
			t.Fatalf("Chat = %q, %v", got, err)
		}
		if bad.requests() != 1 || good.requests() != 1 {
			t.Fatalf("requests: failing host %d, good host %d", bad.requests(), good.requests())
		}
		cnt := c.Counts()
		if cnt.Calls != 1 || cnt.Retries != 1 || cnt.Failures["http_status"] != 0 {
			t.Fatalf("counts = %+v", cnt)
		}
		hs := c.Hosts()
		if hs[0].Errors != 1 || hs[0].State != "ok" || hs[1].Errors != 0 || hs[1].LatencyCount != 1 {
			t.Fatalf("hosts = %+v", hs)
		}
		// Refused: that host is out at once, and the next calls go to the
		// other without a retry.
		bad.setMode("refuse")
		c2 := k.client(t, []*url.URL{serverURL(t, bad, "refuse"), good.url()}, knobs{maxGenerations: 1})
		for i := range 3 {
			if _, err := c2.Chat(context.Background(), hello); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		if hs := c2.Hosts(); hs[0].State != "down" || hs[0].Calls != 1 || hs[1].Calls != 3 || c2.Counts().Retries != 1 {
			t.Fatalf("hosts = %+v, counts %+v", hs, c2.Counts())
		}
	})
}

// A stream that breaks after its first token is not retried: the caller
// may have shown it.
func TestSuiteNoRetryAfterTheFirstToken(t *testing.T) {
	forEachKind(t, func(t *testing.T, k llmKind) {
		bad, good := k.server(t), k.server(t)
		bad.setMode("half")
		c := k.client(t, []*url.URL{bad.url(), good.url()}, knobs{maxGenerations: 1})
		var pieces []string
		_, err := c.ChatStream(context.Background(), hello, func(p string) { pieces = append(pieces, p) })
		if !errors.Is(err, ErrLLMIncomplete) || good.requests() != 0 || c.Counts().Retries != 0 {
			t.Fatalf("err = %v, good host requests %d, counts %+v", err, good.requests(), c.Counts())
		}
		if strings.Join(pieces, "") != "You can get a" {
			t.Fatalf("pieces = %q", pieces)
		}
	})
}

// The engine behaves the same over either backend: the same prompt, the
// citations mapped to sources, the fallbacks.
func TestSuiteEngine(t *testing.T) {
	forEachKind(t, func(t *testing.T, k llmKind) {
		s := k.server(t)
		c := k.client(t, []*url.URL{s.url()}, knobs{})
		e, _ := newTestEngine(t, engineOpts{llm: c, timeout: 5 * time.Second, persona: Persona{BotName: "Ada"}})
		r := ask(t, e, "c1", "How long are refund vouchers valid?")
		if r.Type != TypeRAG || r.Answer != "You can get a refund within 30 days [1].\n\nSources:\n1. Billing > Refunds" || r.Fallback != "" ||
			len(r.Sources) != 1 || r.Sources[0] != (Source{Title: "Billing > Refunds", Source: "docs/billing.md#refunds", Score: 0.8}) {
			t.Fatalf("reply = %+v", r)
		}
		var sys, user string
		switch f := s.impl.(type) {
		case *fakeOllama:
			m := f.chatRequests()[0].Messages
			sys, user = m[0].Content, m[len(m)-1].Content
		case *fakeOpenAI:
			m := f.chatRequests()[0].Messages
			sys, user = m[0].Content, m[len(m)-1].Content
		}
		if want := systemPrompt(Persona{BotName: "Ada"}, kb[:1]); sys != want || user != "How long are refund vouchers valid?" {
			t.Fatalf("system prompt:\n%s\nwant:\n%s\nuser %q", sys, want, user)
		}
		for _, fb := range []struct{ mode, fallback string }{{"hang", FallbackTimeout}, {"leak", FallbackPolicy}, {"empty", FallbackEmpty}} {
			s.setMode(fb.mode)
			e, _ := newTestEngine(t, engineOpts{llm: k.client(t, []*url.URL{s.url()}, knobs{}), timeout: time.Second})
			if r := ask(t, e, "c1", "refund voucher validity"); r.Type != TypeExtractive || r.Fallback != fb.fallback {
				t.Fatalf("%s: reply = %+v", fb.mode, r)
			}
		}
	})
}

// Tool calls come back in one form from either backend, and the tools are
// sent in the request.
func TestSuiteToolCalls(t *testing.T) {
	forEachKind(t, func(t *testing.T, k llmKind) {
		s := k.server(t)
		s.setMode("tools")
		c := k.client(t, []*url.URL{s.url()}, knobs{})
		tools := []Tool{{Name: "lookup_order", Description: "Finds an order by its id.",
			Parameters: json.RawMessage(`{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}`)}}
		g, err := c.ChatTools(context.Background(), hello, tools, nil)
		if err != nil {
			t.Fatal(err)
		}
		var args map[string]any
		if len(g.ToolCalls) != 1 || g.ToolCalls[0].Name != "lookup_order" || g.ToolCalls[0].ID != "call_1" ||
			json.Unmarshal(g.ToolCalls[0].Arguments, &args) != nil || args["order_id"] != "A-17" || g.Text != "" {
			t.Fatalf("generation = %+v", g)
		}
		var sent string
		switch f := s.impl.(type) {
		case *fakeOllama:
			r := f.chatRequests()[0]
			if len(r.Tools) == 1 {
				sent = r.Tools[0].Function.Name + " " + strings.Join(r.Tools[0].Function.Parameters.Required, ",")
			}
		case *fakeOpenAI:
			r := f.chatRequests()[0]
			if len(r.Tools) == 1 {
				b, _ := json.Marshal(r.Tools[0].Function.Parameters)
				var p struct{ Required []string }
				json.Unmarshal(b, &p)
				sent = r.Tools[0].Function.Name + " " + strings.Join(p.Required, ",")
			}
		}
		if sent != "lookup_order order_id" {
			t.Fatalf("tools sent: %q", sent)
		}
		// Without tools offered, a call and no text is an empty answer.
		if _, err := c.Chat(context.Background(), hello); !errors.Is(err, ErrLLMEmpty) {
			t.Fatalf("plain Chat answered by a tool call: err = %v", err)
		}
	})
}
