package httpapi

import (
	"net/http"
	"net/netip"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/secret"
)

// AdminAuth checks the admin token. Only its SHA-256 hash is held, and the
// comparison is constant-time over the digests, so a near-right token takes
// as long to refuse as a wildly wrong one.
type AdminAuth struct {
	hash string
	// session, when set, accepts a request by other means (the admin
	// panel's session cookie) before the bearer token is required.
	session func(r *http.Request) bool
	// failures throttles wrong tokens per client; clientIP names the client.
	failures *FailureThrottle
	clientIP func(r *http.Request) netip.Addr
}

// NewAdminAuth returns an AdminAuth for the token with this hash. Wrong
// tokens are throttled per peer address with the default rate until
// SetThrottle says otherwise.
func NewAdminAuth(tokenHash string) *AdminAuth {
	return &AdminAuth{hash: tokenHash, failures: NewFailureThrottle(0, nil), clientIP: RemoteIP}
}

// SetThrottle replaces the failure throttle and the way the client's
// address is found (behind trusted proxies, the forwarded one).
func (a *AdminAuth) SetThrottle(t *FailureThrottle, clientIP func(r *http.Request) netip.Addr) {
	a.failures, a.clientIP = t, clientIP
}

// SetSessionCheck lets another authenticator (the admin panel's cookie
// session) vouch for a request.
func (a *AdminAuth) SetSessionCheck(check func(r *http.Request) bool) { a.session = check }

// Valid reports whether token is the admin token.
func (a *AdminAuth) Valid(token string) bool { return secret.Equal(token, a.hash) }

// Require is middleware that answers 401 unless the request carries the
// admin token (or a valid session). The token is checked first: only a
// request that fails counts against its client, and one that fails while
// its client is over the failure rate gets 429 instead of 401. A request
// without any Authorization header guesses nothing and is not counted.
func (a *AdminAuth) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.session != nil && a.session(r) {
			next.ServeHTTP(w, r)
			return
		}
		token, err := BearerToken(r)
		if err == nil && a.Valid(token) {
			next.ServeHTTP(w, r)
			return
		}
		if err == nil {
			err = apperr.New(apperr.Unauthorized, "invalid admin token")
		}
		if len(r.Header.Values("Authorization")) > 0 && a.failures != nil {
			if limited := a.failures.Fail(a.clientIP(r)); limited != nil {
				err = limited
			}
		}
		Error(w, r, nil, err)
	})
}

// NotFound and MethodNotAllowed answer in the JSON envelope.
func NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, nil, apperr.New(apperr.NotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

// MethodNotAllowed answers 405 in the JSON envelope.
func MethodNotAllowed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method " + r.Method + " is not allowed on " + r.URL.Path})
	})
}
