package cmd

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Platform webhooks, the widget's chat API and health checks never pass
// through the admin panel's session/CSRF middleware: a request carrying the
// panel's cookie (live, forged or stale) and no Origin is answered exactly
// like the same request without it, and the session table is not consulted.
// The management API still refuses a cookie-authenticated write without the
// CSRF token, and request metrics still count the incoming route.
func TestPlatformRoutesBypassPanelMiddleware(t *testing.T) {
	const adminToken = "admin-token-0123456789abcdef"
	cfg := config{AdminToken: adminToken, Embedder: "builtin"}
	cfg.Answer.LLM = "none"
	a, _ := startApp(t, cfg)
	base := "http://" + a.Addr()

	// A live admin session, as a browser logged into the panel holds it.
	live, csrf := login(t, base, adminToken)

	type answer struct {
		status int
		error  string
	}
	send := func(method, path, cookie, auth, body string, hdr map[string]string) answer {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if cookie != "" {
			req.Header.Set("Cookie", "chatbot_session="+cookie)
		}
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(raw, &m) // health answers and refusals are compared whole
		e, _ := m["error"].(string)
		if e == "" {
			e = string(raw)
		}
		return answer{resp.StatusCode, e}
	}

	before := a.admin.SessionLookups()
	platform := []struct{ method, path, auth, body string }{
		{http.MethodPost, "/api/webhook/incoming", "", `{"user_id":"u","conversation_id":"c","message":"hi"}`},
		{http.MethodPost, "/api/webhook/incoming", "cbi_not-a-token", `{"user_id":"u","conversation_id":"c","message":"hi"}`},
		{http.MethodPost, "/api/chat", "", `{"message":"hi"}`},
		{http.MethodGet, "/api/chat/messages", "", ""},
		{http.MethodGet, "/healthz", "", ""},
		{http.MethodGet, "/readyz", "", ""},
	}
	for _, p := range platform {
		want := send(p.method, p.path, "", p.auth, p.body, nil)
		for _, cookie := range []string{live, "s_forged-or-stale"} {
			if got := send(p.method, p.path, cookie, p.auth, p.body, nil); got != want {
				t.Errorf("%s %s with an admin cookie: %+v, want %+v as without one", p.method, p.path, got, want)
			}
		}
	}
	if got := a.admin.SessionLookups(); got != before {
		t.Errorf("platform and widget routes looked up the admin session %d times, want 0", got-before)
	}

	// The management API: a cookie-authenticated write needs the CSRF token.
	create := `{"name":"Shop","provider":"custom"}`
	if got := send(http.MethodPost, "/api/webhook/config", live, "", create, nil); got.status != 403 ||
		got.error != "missing or wrong CSRF token; reload the admin page" {
		t.Errorf("cookie write without CSRF token: %+v, want 403", got)
	}
	if got := send(http.MethodPost, "/api/webhook/config", live, "", create, map[string]string{"X-CSRF-Token": csrf}); got.status != 201 {
		t.Errorf("cookie write with CSRF token: %+v, want 201", got)
	}
	if got := send(http.MethodPost, "/admin/api/widgets", live, "", `{"name":"W","allowed_origins":["https://w.example"]}`, nil); got.status != 403 {
		t.Errorf("panel API cookie write without CSRF token: %+v, want 403", got)
	}
	if a.admin.SessionLookups() == before {
		t.Error("the management API did not consult the session table")
	}

	// Request metrics still count the incoming route: two unauthenticated
	// tries per cookie variant above, each refused with 401.
	m := scrape(t, base, adminToken)
	if got := m[`chatbot_http_requests_total{method="POST",route="/api/webhook/incoming",code="401"}`]; got != 6 {
		t.Errorf("incoming 401s counted %v, want 6", got)
	}
}

// login logs in to the panel and returns the session cookie's value and
// its CSRF token.
func login(t *testing.T, base, token string) (cookie, csrf string) {
	t.Helper()
	resp, err := http.Post(base+"/admin/api/login", "application/json", strings.NewReader(`{"token":"`+token+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var view struct {
		CSRFToken string `json:"csrf_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&view); err != nil || resp.StatusCode != 200 || view.CSRFToken == "" {
		t.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "chatbot_session" {
			return c.Value, view.CSRFToken
		}
	}
	t.Fatalf("login set no session cookie")
	return "", ""
}
