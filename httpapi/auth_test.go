package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/chatbot/chatbot/secret"
)

const adminToken = "cba_admin-token-for-auth-tests-0123"

// authServer serves a handler behind Require over loopback and counts the
// requests that got through.
func authServer(t *testing.T, auth *AdminAuth) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var passed atomic.Int32
	srv := httptest.NewServer(auth.Require(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		passed.Add(1)
		io.WriteString(w, "inside")
	})))
	t.Cleanup(srv.Close)
	return srv, &passed
}

type authResult struct {
	status          int
	body, challenge string
}

func get(t *testing.T, srv *httptest.Server, authorization ...string) authResult {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range authorization {
		req.Header.Add("Authorization", v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return authResult{resp.StatusCode, string(b), resp.Header.Get("WWW-Authenticate")}
}

func TestRequireAdminToken(t *testing.T) {
	srv, passed := authServer(t, NewAdminAuth(secret.Hash(adminToken)))
	const (
		challenge = `Bearer realm="chatbot"`
		invalid   = `{"success":false,"error":"invalid admin token"}` + "\n"
	)
	first := "X" + adminToken[1:]
	last := adminToken[:len(adminToken)-1] + "X"
	cases := []struct {
		name          string
		authorization []string
		status        int
		body          string
	}{
		{"missing header", nil, 401, `{"success":false,"error":"missing Authorization header; send Authorization: Bearer \u003ctoken\u003e"}` + "\n"},
		{"basic scheme", []string{"Basic " + adminToken}, 401, `{"success":false,"error":"Authorization must be: Bearer \u003ctoken\u003e"}` + "\n"},
		{"token without scheme", []string{adminToken}, 401, `{"success":false,"error":"Authorization must be: Bearer \u003ctoken\u003e"}` + "\n"},
		{"empty bearer", []string{"Bearer "}, 401, `{"success":false,"error":"Authorization must be: Bearer \u003ctoken\u003e"}` + "\n"},
		{"two headers, both right", []string{"Bearer " + adminToken, "Bearer " + adminToken}, 401, `{"success":false,"error":"send exactly one Authorization header"}` + "\n"},
		{"wrong first byte", []string{"Bearer " + first}, 401, invalid},
		{"wrong last byte", []string{"Bearer " + last}, 401, invalid},
		{"prefix of the token", []string{"Bearer " + adminToken[:len(adminToken)-1]}, 401, invalid},
		{"token and more", []string{"Bearer " + adminToken + "X"}, 401, invalid},
		{"right token", []string{"Bearer " + adminToken}, 200, "inside"},
		{"lower-case scheme", []string{"bearer " + adminToken}, 200, "inside"},
		{"upper-case scheme", []string{"BEARER " + adminToken}, 200, "inside"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := passed.Load()
			res := get(t, srv, c.authorization...)
			if res.status != c.status || res.body != c.body {
				t.Fatalf("got %d %q, want %d %q", res.status, res.body, c.status, c.body)
			}
			wantChallenge, wantPassed := challenge, before
			if c.status == 200 {
				wantChallenge, wantPassed = "", before+1
			}
			if res.challenge != wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", res.challenge, wantChallenge)
			}
			if got := passed.Load(); got != wantPassed {
				t.Errorf("requests that reached the handler = %d, want %d", got, wantPassed)
			}
		})
	}
}

// A session vouches for a request without a token; without the session the
// token is still required.
func TestRequireAcceptsASession(t *testing.T) {
	auth := NewAdminAuth(secret.Hash(adminToken))
	cookie, _ := auth.StartSession()
	srv, passed := authServer(t, auth)
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || passed.Load() != 1 {
		t.Fatalf("with a session: %d, passed %d", resp.StatusCode, passed.Load())
	}
	if res := get(t, srv); res.status != 401 || passed.Load() != 1 {
		t.Fatalf("without a session: %d, passed %d", res.status, passed.Load())
	}
}

// Valid compares SHA-256 digests: any token matches only its own hash, and
// a stored hash that is not a hex digest matches nothing (not even "").
func TestAdminAuthValid(t *testing.T) {
	auth := NewAdminAuth(secret.Hash(adminToken))
	if !auth.Valid(adminToken) {
		t.Fatal("the admin token is not valid")
	}
	for _, tok := range []string{"", " " + adminToken, adminToken + " ", secret.Hash(adminToken)} {
		if auth.Valid(tok) {
			t.Errorf("Valid(%q) = true", tok)
		}
	}
	for _, stored := range []string{"", "not-hex", secret.Hash(adminToken)[:62]} {
		if a := NewAdminAuth(stored); a.Valid("") || a.Valid(adminToken) {
			t.Errorf("stored hash %q accepted a token", stored)
		}
	}
}
