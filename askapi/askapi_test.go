package askapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

const adminToken = "askapi-admin-token-0123456789"

type engine struct {
	mu    sync.Mutex
	asked []chat.Request
}

func (e *engine) Answer(_ context.Context, req chat.Request) (chat.Reply, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.asked = append(e.asked, req)
	return chat.Reply{Type: chat.TypeExtractive, Answer: "Reset it under Settings.", Fallback: chat.FallbackDisabled,
		Sources: []chat.Source{{Title: "Passwords", Source: "docs/passwords.md", URL: "https://help.example.com/passwords", Score: 0.9}}}, nil
}

func serve(t *testing.T) (*httptest.Server, *engine, *store.Store) {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng := &engine{}
	r := mux.NewRouter()
	r.NotFoundHandler = httpapi.NotFound()
	r.MethodNotAllowedHandler = httpapi.MethodNotAllowed()
	auth := httpapi.NewAuth(httpapi.AuthOptions{TokenHash: secret.Hash(adminToken)})
	New(conversation.New(st, eng, conversation.Options{}), time.Minute, slog.New(slog.DiscardHandler)).Routes(r, auth.Require)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, eng, st
}

func post(t *testing.T, srv *httptest.Server, token, ctype, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/ask", strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%d %s: not JSON", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// A question goes through the turn as the CLI's conversation and is
// stored; the answer carries its sources with their public URL.
func TestAskAnswersThroughTheTurn(t *testing.T) {
	srv, eng, st := serve(t)
	status, out := post(t, srv, adminToken, "application/json", `{"question":"  how do I reset my password?  ","conversation_id":"me"}`)
	if status != 200 || out["answer"] != "Reset it under Settings." || out["response_type"] != "extractive" || out["fallback"] != "llm_disabled" {
		t.Fatalf("ask: %d %v", status, out)
	}
	src := out["sources"].([]any)[0].(map[string]any)
	if src["url"] != "https://help.example.com/passwords" || src["source"] != "docs/passwords.md" {
		t.Fatalf("source = %v", src)
	}
	if len(eng.asked) != 1 || eng.asked[0] != (chat.Request{Platform: Platform, ConversationID: "me", UserID: UserID,
		Username: "chatbot ask", Text: "how do I reset my password?"}) {
		t.Fatalf("engine asked %+v", eng.asked)
	}
	msgs, err := st.ConversationMessages(store.ConvRef{Platform: Platform, ConversationID: "me"}, 10)
	if err != nil || len(msgs) != 2 || msgs[0].Type != store.MessageIncoming || msgs[1].Text != "Reset it under Settings." {
		t.Fatalf("stored %+v, %v", msgs, err)
	}
}

// Bad input gets a clear error naming the field, and reaches no engine.
func TestAskRefusals(t *testing.T) {
	srv, eng, _ := serve(t)
	for _, c := range []struct {
		name, token, ctype, body string
		status                   int
		field                    string
	}{
		{"no token", "", "application/json", `{"question":"hi"}`, 401, ""},
		{"wrong token", "not-the-admin-token-at-all", "application/json", `{"question":"hi"}`, 401, ""},
		{"not JSON", adminToken, "text/plain", `question=hi`, 415, ""},
		{"empty", adminToken, "application/json", `{"question":"   "}`, 400, "question"},
		{"missing", adminToken, "application/json", `{}`, 400, "question"},
		{"wrong type", adminToken, "application/json", `{"question":42}`, 400, "question"},
		{"unknown field", adminToken, "application/json", `{"question":"hi","extra":1}`, 400, "extra"},
		{"control character", adminToken, "application/json", `{"question":"hi\u0000there"}`, 400, "question"},
		{"too long", adminToken, "application/json", `{"question":"` + strings.Repeat("a", MaxQuestionBytes+1) + `"}`, 413, "question"},
		{"bad conversation id", adminToken, "application/json", `{"question":"hi","conversation_id":"a/b"}`, 400, "conversation_id"},
		{"body too large", adminToken, "application/json", `{"question":"` + strings.Repeat("a", bodyLimit) + `"}`, 413, ""},
	} {
		status, out := post(t, srv, c.token, c.ctype, c.body)
		if status != c.status || out["success"] != false {
			t.Errorf("%s: %d %v, want %d", c.name, status, out, c.status)
			continue
		}
		if c.field != "" && out["field"] != c.field {
			t.Errorf("%s: field %v, want %q (%v)", c.name, out["field"], c.field, out["error"])
		}
	}
	if len(eng.asked) != 0 {
		t.Fatalf("refused questions reached the engine: %+v", eng.asked)
	}
}

// A hand-off without words stands for "talk to a human".
func TestAskHandoffWithoutWords(t *testing.T) {
	srv, eng, _ := serve(t)
	if status, out := post(t, srv, adminToken, "application/json", `{"handoff":true}`); status != 200 {
		t.Fatalf("handoff: %d %v", status, out)
	}
	if len(eng.asked) != 1 || eng.asked[0].Text != handoffText || !eng.asked[0].Handoff {
		t.Fatalf("engine asked %+v", eng.asked)
	}
}
