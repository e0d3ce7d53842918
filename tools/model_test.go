package tools

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chatbot/chatbot/chat"
)

// ollamaReq is what the fake Ollama received on /api/chat.
type ollamaReq struct {
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Tools []json.RawMessage `json:"tools"`
}

// fakeOllama speaks /api/chat: answer(n, req) is the n-th (0-based) reply
// line, or "" for a 500.
type fakeOllama struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []ollamaReq
}

func newFakeOllama(t *testing.T, answer func(n int, req ollamaReq) string) *fakeOllama {
	f := &fakeOllama{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/chat" {
			http.NotFound(w, r)
			return
		}
		var req ollamaReq
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("fake ollama: %v", err)
		}
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		line := answer(n, req)
		if line == "" {
			http.Error(w, `{"error":"model crashed"}`, 500)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		io.WriteString(w, line+"\n")
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOllama) requests() []ollamaReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ollamaReq(nil), f.reqs...)
}

func toolCallLine(name, args string) string {
	return `{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"` + name + `","arguments":` + args + `}}]},"done":true}`
}

func textLine(text string) string {
	b, _ := json.Marshal(text)
	return `{"message":{"role":"assistant","content":` + string(b) + `},"done":true}`
}

// withModel is newBot with the fake Ollama offered the tools.
func withModel(t *testing.T, b *bot, ollama *fakeOllama) {
	t.Helper()
	u, _ := url.Parse(ollama.URL)
	client, err := chat.NewOllama(chat.OllamaConfig{BaseURLs: []*url.URL{u}, ChatModel: "tiny", FailureThreshold: 100})
	if err != nil {
		t.Fatal(err)
	}
	b.step.UseModel(client)
}

const notATrigger = "Has my parcel for order 12345 shipped yet?"

func TestModelCallsAToolAndAnswersFromAllowedFieldsOnly(t *testing.T) {
	b := newBot(t, jsonReply(shipped), nil)
	ollama := newFakeOllama(t, func(n int, _ ollamaReq) string {
		if n == 0 {
			return toolCallLine("order_status", `{"order_id":"12345"}`)
		}
		return textLine("Your order 12345 has shipped and should arrive on Friday.")
	})
	withModel(t, b, ollama)
	r := b.say(t, notATrigger)
	wantToolAnswer(t, r, "Your order 12345 has shipped and should arrive on Friday.")
	if got := b.api.last(t).URI; got != "/api/orders/12345?customer=cust-7" {
		t.Fatalf("request %s", got)
	}
	reqs := ollama.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d model calls, want 2", len(reqs))
	}
	var offered struct {
		Function struct {
			Name       string `json:"name"`
			Parameters struct {
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			} `json:"parameters"`
		} `json:"function"`
	}
	if len(reqs[0].Tools) != 1 || json.Unmarshal(reqs[0].Tools[0], &offered) != nil || offered.Function.Name != "order_status" ||
		len(offered.Function.Parameters.Properties) != 1 || offered.Function.Parameters.Properties["order_id"] == nil {
		t.Fatalf("offered %s", reqs[0].Tools)
	}
	if len(reqs[1].Tools) != 0 || len(reqs[1].Messages) != 2 || reqs[1].Messages[0].Content != answerSystem {
		t.Fatalf("second call %+v", reqs[1])
	}
	wantPrompt := "Question: " + notATrigger + "\n\n<data>\n" + `[
  {
    "arguments": {
      "order_id": "12345"
    },
    "fields": {
      "shipping.eta": "Friday",
      "status": "shipped"
    },
    "tool": "order_status"
  }
]` + "\n</data>"
	if got := reqs[1].Messages[1].Content; got != wantPrompt {
		t.Fatalf("prompt:\n%s\nwant:\n%s", got, wantPrompt)
	}
}

func TestModelRefusalsFallBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first string
	}{
		{"unknown tool", toolCallLine("refund_order", `{"order_id":"12345"}`)},
		{"argument failing its pattern", toolCallLine("order_status", `{"order_id":"12"}`)},
		{"undeclared argument", toolCallLine("order_status", `{"order_id":"12345","customer_id":"999"}`)},
		{"not a value", toolCallLine("order_status", `{"order_id":{"$gt":""}}`)},
		{"no call", textLine("NONE")},
		{"model down", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBot(t, jsonReply(shipped), nil)
			withModel(t, b, newFakeOllama(t, func(int, ollamaReq) string { return tc.first }))
			r := b.say(t, notATrigger)
			if r.Type != chat.TypeNoAnswer || r.Fallback != "" || b.api.hits.Load() != 0 {
				t.Fatalf("reply %+v, %d API calls; want the knowledge base's answer and no call", r, b.api.hits.Load())
			}
		})
	}
}

func TestModelAnswerFailureFallsBackToTheTemplate(t *testing.T) {
	b := newBot(t, jsonReply(shipped), nil)
	withModel(t, b, newFakeOllama(t, func(n int, _ ollamaReq) string {
		if n == 0 {
			return toolCallLine("order_status", `{"order_id":12345}`) // a number is accepted as its digits
		}
		return ""
	}))
	wantToolAnswer(t, b.say(t, notATrigger), "Order 12345 is shipped, expected Friday.")
}

func TestModelCallWithoutTheRequiredParameterAsks(t *testing.T) {
	b := newBot(t, jsonReply(shipped), nil)
	withModel(t, b, newFakeOllama(t, func(int, ollamaReq) string { return toolCallLine("order_status", `{}`) }))
	wantToolAnswer(t, b.say(t, "Has my parcel shipped? It is an order from last week."), "Which order? Please give me its order number.")
	wantToolAnswer(t, b.say(t, "12345"), "Order 12345 is shipped, expected Friday.")
}

func TestTriggerWinsAndUnrelatedMessagesSkipTheModel(t *testing.T) {
	b := newBot(t, jsonReply(shipped), nil)
	ollama := newFakeOllama(t, func(int, ollamaReq) string { return toolCallLine("order_status", `{"order_id":"99999"}`) })
	withModel(t, b, ollama)
	wantToolAnswer(t, b.say(t, "where is my order 12345"), "Order 12345 is shipped, expected Friday.")
	if r := b.say(t, "What are your opening hours?"); r.Type != chat.TypeNoAnswer {
		t.Fatalf("unrelated: %+v", r)
	}
	if n := len(ollama.requests()); n != 0 {
		t.Fatalf("the model was asked %d times", n)
	}
	if !strings.HasSuffix(b.api.last(t).URI, "/12345?customer=cust-7") {
		t.Fatalf("request %s", b.api.last(t).URI)
	}
}
