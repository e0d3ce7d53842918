package chat

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/llm"
)

// bodyTransport answers every request with status and body, no network.
type bodyTransport struct {
	status int
	body   []byte
	header http.Header
}

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h := b.header
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: b.status, Header: h, Body: io.NopCloser(bytes.NewReader(b.body)), Request: r}, nil
}

// A server's stream is untrusted: whatever bytes it sends, the client
// returns an answer or an error, never panics, and never an answer with
// text past the cap.
func FuzzServerStreams(f *testing.F) {
	f.Add(200, []byte(`{"message":{"role":"assistant","content":"Hi [1]"},"done":true}`+"\n"))
	f.Add(200, []byte(`{"message":{"content":"a"}}`+"\n"+`{"error":"boom"}`+"\n"))
	f.Add(500, []byte(`{"error":"llama runner process has terminated"}`))
	f.Add(200, []byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"))
	f.Add(200, []byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":99999999,\"function\":{\"arguments\":\"{\"}}]}}]}\n\n"))
	f.Add(429, []byte(`{"error":{"message":"slow down"}}`))
	f.Add(200, []byte("data: {\"error\":{\"message\":\"mid-stream\"}}\n\n"))
	u, _ := url.Parse("http://fuzz.invalid")
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			status = 200
		}
		hc := &http.Client{Transport: bodyTransport{status: status, body: body, header: http.Header{"Retry-After": {"3"}}}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		clients := []*Client{}
		o, err := NewOllama(OllamaConfig{BaseURL: u, ChatModel: "m", HTTPClient: hc, MaxAnswerBytes: 64})
		if err != nil {
			t.Fatal(err)
		}
		ou, _ := llm.OpenAIBaseURL(u.String())
		oa, err := NewOpenAI(OpenAIConfig{BaseURLs: []*url.URL{ou}, ChatModel: "m", HTTPClient: hc, MaxAnswerBytes: 64})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, o, oa)
		for _, c := range clients {
			g, err := c.ChatTools(ctx, hello, []Tool{{Name: "t"}}, nil)
			if err == nil && len(g.Text) > 64 {
				t.Fatalf("%s: %d bytes of text past the 64-byte cap", c.Mode(), len(g.Text))
			}
			if err == nil && strings.TrimSpace(g.Text) == "" && len(g.ToolCalls) == 0 {
				t.Fatalf("%s: empty answer without an error", c.Mode())
			}
			if err != nil && errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s: a canned body hung until the deadline", c.Mode())
			}
		}
	})
}
