package widget_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/admin"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/httpapi/clientiptest"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
	"github.com/chatbot/chatbot/widget"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type echoEngine struct{}

func (echoEngine) Answer(context.Context, chat.Request) (chat.Reply, error) {
	return chat.Reply{Answer: "ok", Type: chat.TypeExtractive}, nil
}

const adminToken = "admin-token-0123456789abcdef"

// other is a client address no case names.
const other = "192.0.2.200"

// Every caller of the one ClientIP names the same client for the same
// X-Forwarded-For chain, over HTTP: the webhook's auth-failure throttle,
// the widget's limiter and the admin login lockout. For each garbled or
// ordinary chain of the shared table, the chain spends a client's budget,
// and the address ClientIP names for it (sent plainly) finds that budget
// spent, while another address does not.
func TestEveryCallerNamesTheSameClient(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := &testClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	log := slog.New(slog.DiscardHandler)
	turns := conversation.New(st, echoEngine{}, conversation.Options{Now: clock.Now})

	in := webhook.NewIncoming(st, turns, log, webhook.IncomingOptions{
		TrustedProxies: clientiptest.Trusted, AuthFailuresPerMinute: 1, Now: clock.Now})
	t.Cleanup(func() { in.Close(context.Background()) })
	wd := widget.New(widget.Options{Store: st, Turns: turns, Log: log, TrustedProxies: clientiptest.Trusted, Now: clock.Now})
	auth := httpapi.NewAuth(httpapi.AuthOptions{TokenHash: secret.Hash(adminToken), TrustedProxies: clientiptest.Trusted, Now: clock.Now})
	panel, err := admin.New(admin.Options{Store: st, Auth: auth, Log: log, TrustedProxies: clientiptest.Trusted, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	webhook.NewHandler(webhook.NewConfigs(st), log).WithIncoming(in).Routes(r, auth.Require)
	wd.Routes(r)
	panel.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	w := &store.Widget{Name: "Shop", AllowedOrigins: []string{"https://shop.example"}, RatePerMinute: 1, IsActive: true, Key: secret.NewToken("wk_")}
	if err := st.CreateWidget(w); err != nil {
		t.Fatal(err)
	}
	post := func(path string, xff []string, hdr map[string]string, body any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for _, v := range xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	incoming := func(xff []string) int {
		return post("/api/webhook/incoming", xff, map[string]string{"Authorization": "Bearer cbi_wrong-token"},
			map[string]string{"user_id": "u", "conversation_id": "c", "message": "hi"})
	}
	chatMsg := func(xff []string) int {
		return post("/api/chat?key="+w.Key, xff, map[string]string{"Origin": "https://shop.example"}, map[string]string{"message": "hi"})
	}
	login := func(xff []string, token string) int {
		return post("/admin/api/login", xff, nil, map[string]string{"token": token})
	}

	for _, c := range clientiptest.Cases {
		want := []string{c.Want}
		// Webhook: one wrong token a minute per client.
		if got := incoming(c.XFF); got != http.StatusUnauthorized {
			t.Errorf("%s: webhook, first wrong token: %d, want 401", c.Name, got)
		}
		if got := incoming(want); got != http.StatusTooManyRequests {
			t.Errorf("%s: webhook, wrong token from %s: %d, want 429 (the same client)", c.Name, c.Want, got)
		}
		if got := incoming([]string{other}); got != http.StatusUnauthorized {
			t.Errorf("%s: webhook, wrong token from %s: %d, want 401", c.Name, other, got)
		}
		// Widget: one message a minute per visitor.
		if got := chatMsg(c.XFF); got != http.StatusOK {
			t.Errorf("%s: widget, first message: %d, want 200", c.Name, got)
		}
		if got := chatMsg(want); got != http.StatusTooManyRequests {
			t.Errorf("%s: widget, message from %s: %d, want 429 (the same visitor)", c.Name, c.Want, got)
		}
		if got := chatMsg([]string{other}); got != http.StatusOK {
			t.Errorf("%s: widget, message from %s: %d, want 200", c.Name, other, got)
		}
		// Admin login: three free failures, the fourth locks the client out.
		for i := range 4 {
			if got := login(c.XFF, "wrong"); got != http.StatusUnauthorized {
				t.Errorf("%s: login failure %d: %d, want 401", c.Name, i+1, got)
			}
		}
		if got := login(want, adminToken); got != http.StatusTooManyRequests {
			t.Errorf("%s: login from %s: %d, want 429 (the same client)", c.Name, c.Want, got)
		}
		if got := login([]string{other}, adminToken); got != http.StatusOK {
			t.Errorf("%s: login from %s: %d, want 200", c.Name, other, got)
		}
		clock.Add(2 * time.Hour) // every budget refilled, every lockout forgotten
	}
}
