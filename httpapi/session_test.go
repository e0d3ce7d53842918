package httpapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/chatbot/chatbot/secret"
)

// The one authenticator, over HTTP: a session passes reads; a write on the
// cookie alone needs the session's CSRF token from the same origin (403
// without, and the token is not considered); the admin token passes any
// request; an expired or ended session is no session (401).
func TestRequireSessionAndCSRF(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 19, 12, 0, 0, 0, time.UTC)}
	auth := NewAuth(AuthOptions{TokenHash: secret.Hash(adminToken), SessionTTL: time.Hour, Now: clock.Now})
	srv, passed := authServer(t, auth)
	cookie, sess := auth.StartSession()
	if sess.Expires != clock.Now().Add(time.Hour) || sess.CSRF == "" {
		t.Fatalf("session %+v", sess)
	}
	send := func(method string, hdr map[string]string) int {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		name, method string
		hdr          map[string]string
		want         int
	}{
		{"read", "GET", nil, 200},
		{"write without token", "POST", nil, 403},
		{"write with a wrong token", "POST", map[string]string{CSRFHeader: "c_wrong"}, 403},
		{"write with the token", "POST", map[string]string{CSRFHeader: sess.CSRF}, 200},
		{"write with the token from another site", "POST", map[string]string{CSRFHeader: sess.CSRF, "Sec-Fetch-Site": "cross-site"}, 403},
		{"write without CSRF but with the admin token", "POST", map[string]string{"Authorization": "Bearer " + adminToken}, 200},
		{"write without CSRF and a wrong admin token", "POST", map[string]string{"Authorization": "Bearer wrong"}, 401},
	} {
		if got := send(c.method, c.hdr); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if passed.Load() != 3 || auth.Sessions() != 1 {
		t.Fatalf("passed %d, sessions %d; want 3 and 1", passed.Load(), auth.Sessions())
	}
	clock.Add(time.Hour)
	if got := send("GET", nil); got != 401 || auth.Sessions() != 0 {
		t.Fatalf("expired session: %d, %d sessions; want 401 and 0", got, auth.Sessions())
	}
	cookie, _ = auth.StartSession()
	auth.EndSession(cookie)
	if got := send("GET", nil); got != 401 {
		t.Fatalf("ended session: %d, want 401", got)
	}
}

// The session table stays bounded: past MaxSessions, starting one drops
// another.
func TestSessionsBounded(t *testing.T) {
	auth := NewAuth(AuthOptions{TokenHash: secret.Hash(adminToken), MaxSessions: 3})
	for range 10 {
		auth.StartSession()
	}
	if n := auth.Sessions(); n != 3 {
		t.Fatalf("%d sessions, want 3", n)
	}
}
