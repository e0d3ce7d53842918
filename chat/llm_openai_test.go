package chat

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/chatbot/chatbot/llm"
)

func TestOpenAISendsTheKeyAndTools(t *testing.T) {
	f := newFakeOpenAI(t)
	f.setMode("tools")
	c := newTestOpenAI(t, []*url.URL{f.url()}, nil)
	tools := []Tool{{Name: "lookup_order", Description: "Finds an order by its id.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}`)}}
	g, err := c.ChatTools(context.Background(), hello, tools, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.ToolCalls) != 1 || g.ToolCalls[0].ID != "call_1" || g.ToolCalls[0].Name != "lookup_order" ||
		string(g.ToolCalls[0].Arguments) != `{"order_id": "A-17"}` || g.Text != "" {
		t.Fatalf("generation = %+v (%s)", g, g.ToolCalls)
	}
	req := f.chatRequests()[0]
	if f.auth[0] != "Bearer sk-test" || len(req.Tools) != 1 || req.Tools[0].Function.Name != "lookup_order" {
		t.Fatalf("auth %q, tools %+v", f.auth[0], req.Tools)
	}
	// The tool's result goes back as a tool message.
	f.setMode("ok")
	args := api.NewToolCallFunctionArguments()
	args.Set("order_id", "A-17")
	msgs := append(hello,
		api.Message{Role: "assistant", ToolCalls: []api.ToolCall{{ID: "call_1", Function: api.ToolCallFunction{Name: "lookup_order", Arguments: args}}}},
		api.Message{Role: "tool", ToolCallID: "call_1", ToolName: "lookup_order", Content: `{"status":"shipped"}`})
	if _, err := c.ChatTools(context.Background(), msgs, tools, nil); err != nil {
		t.Fatal(err)
	}
	sent := f.chatRequests()[1].Messages
	if len(sent) != 3 || sent[1].ToolCalls[0].Function.Arguments != `{"order_id":"A-17"}` || sent[2].ToolCallID != "call_1" || sent[2].Role != "tool" {
		t.Fatalf("messages sent = %+v", sent)
	}
}

// 429: the host rests for Retry-After (not counted as down), the call
// fails as rate_limited, and with a second host the call goes there.
func TestOpenAIRateLimited(t *testing.T) {
	f := newFakeOpenAI(t)
	f.setMode("429")
	c := newTestOpenAI(t, []*url.URL{f.url()}, func(c *OpenAIConfig) { c.FailureThreshold = 1 })
	_, err := c.Chat(context.Background(), hello)
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 429 || he.RetryAfter != 7*time.Second {
		t.Fatalf("err = %#v", err)
	}
	hs := c.Hosts()
	if hs[0].State != "limited" || hs[0].Errors != 0 || !c.Ready() {
		t.Fatalf("hosts = %+v, ready %v", hs, c.Ready())
	}
	if _, err := c.Chat(context.Background(), hello); !errors.Is(err, ErrLLMBusy) {
		t.Fatalf("resting host: err = %v, want ErrLLMBusy at once", err)
	}
	if got := c.Counts().Failures; got["rate_limited"] != 1 || got["busy"] != 1 {
		t.Fatalf("failures = %v", got)
	}
	if len(f.chatRequests()) != 1 {
		t.Fatalf("the resting host got %d requests", len(f.chatRequests()))
	}

	other := newFakeOpenAI(t)
	c2 := newTestOpenAI(t, []*url.URL{f.url(), other.url()}, func(c *OpenAIConfig) { c.MaxGenerations = 1 })
	if got, err := c2.Chat(context.Background(), hello); err != nil || got == "" {
		t.Fatalf("with a second host: %q, %v", got, err)
	}
	if len(other.chatRequests()) != 1 {
		t.Fatal("the call did not move to the second host")
	}
}

// 401: a clear error naming where the key came from; the host is down at
// once (retrying will not fix a key).
func TestOpenAIUnauthorizedNamesTheKeySource(t *testing.T) {
	f := newFakeOpenAI(t)
	f.setMode("401")
	c := newTestOpenAI(t, []*url.URL{f.url()}, func(c *OpenAIConfig) { c.KeySource = "CHATBOT_LLM_API_KEY_FILE (/run/secrets/llm)" })
	_, err := c.Chat(context.Background(), hello)
	if err == nil || !strings.Contains(err.Error(), "refused the API key") || !strings.Contains(err.Error(), "CHATBOT_LLM_API_KEY_FILE (/run/secrets/llm)") {
		t.Fatalf("err = %v", err)
	}
	st := c.State()
	if st.State != "down" || !strings.Contains(st.Reason, "CHATBOT_LLM_API_KEY_FILE (/run/secrets/llm)") || c.Counts().Failures["unauthorized"] != 1 {
		t.Fatalf("state = %+v, counts %+v", st, c.Counts())
	}
	if strings.Contains(err.Error(), "sk-test") || strings.Contains(st.Reason, "sk-test") {
		t.Fatal("the key itself is in the message")
	}
	ps := c.Probe(context.Background())
	if ps.Reachable || !strings.Contains(ps.Err, "API key") {
		t.Fatalf("probe = %+v", ps)
	}
	// Without a key configured the message says how to set one.
	c2 := newTestOpenAI(t, []*url.URL{f.url()}, func(c *OpenAIConfig) { c.APIKey, c.KeySource = "", "" })
	if _, err := c2.Chat(context.Background(), hello); err == nil || !strings.Contains(err.Error(), "set CHATBOT_LLM_API_KEY") {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenAIModelNotFound(t *testing.T) {
	f := newFakeOpenAI(t)
	f.setMode("404")
	c := newTestOpenAI(t, []*url.URL{f.url()}, func(c *OpenAIConfig) { c.ChatModel = "gpt-9" })
	_, err := c.Chat(context.Background(), hello)
	if err == nil || !strings.Contains(err.Error(), "The model `gpt-9` does not exist.") {
		t.Fatalf("err = %v", err)
	}
	if st := c.State(); st.State != "down" || !strings.Contains(st.Reason, `model "gpt-9" not found; check --chat-model`) {
		t.Fatalf("state = %+v", st)
	}
	if got := f.url().String(); !strings.HasSuffix(got, "/v1") {
		t.Fatalf("base URL %s", got)
	}
}

// A first token that does not come before the deadline: a timeout, and
// the engine answers extractively within its deadline.
func TestOpenAISlowFirstToken(t *testing.T) {
	f := newFakeOpenAI(t)
	f.setMode("slowfirst")
	c := newTestOpenAI(t, []*url.URL{f.url()}, nil)
	timeout := time.Second
	e, _ := newTestEngine(t, engineOpts{llm: c, timeout: timeout})
	start := time.Now()
	r := ask(t, e, "c1", "refund voucher validity")
	if d := time.Since(start); d > timeout+10*time.Second { // ignoring the deadline, not scheduling noise
		t.Fatalf("answer took %v", d)
	}
	if r.Type != TypeExtractive || r.Fallback != FallbackTimeout {
		t.Fatalf("reply = %+v", r)
	}
	if c.Counts().Failures["timeout"] != 1 {
		t.Fatalf("counts = %+v", c.Counts())
	}
}

// A stream whose body ends without a finish_reason is incomplete, not an
// answer.
func TestOpenAIStreamCut(t *testing.T) {
	f := newFakeOpenAI(t)
	f.setMode("cut")
	c := newTestOpenAI(t, []*url.URL{f.url()}, nil)
	if _, err := c.Chat(context.Background(), hello); !errors.Is(err, ErrLLMIncomplete) {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenAIBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8000":        "http://127.0.0.1:8000/v1",
		"http://127.0.0.1:8000/v1/":    "http://127.0.0.1:8000/v1",
		"https://api.example.com/v1":   "https://api.example.com/v1",
		"http://ollama:11434/v1":       "http://ollama:11434/v1",
		"ftp://x":                      "error",
		"127.0.0.1:8000":               "error",
		"https://user:pw@api.example/": "error",
	} {
		u, err := llm.OpenAIBaseURL(in)
		if got := "error"; err == nil {
			got = u.String()
			if got != want {
				t.Errorf("%q -> %q, want %q", in, got, want)
			}
		} else if want != "error" {
			t.Errorf("%q: %v", in, err)
		}
	}
}
