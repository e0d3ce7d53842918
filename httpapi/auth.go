package httpapi

import (
	"net/http"

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
}

// NewAdminAuth returns an AdminAuth for the token with this hash.
func NewAdminAuth(tokenHash string) *AdminAuth { return &AdminAuth{hash: tokenHash} }

// SetSessionCheck lets another authenticator (the admin panel's cookie
// session) vouch for a request.
func (a *AdminAuth) SetSessionCheck(check func(r *http.Request) bool) { a.session = check }

// Valid reports whether token is the admin token.
func (a *AdminAuth) Valid(token string) bool { return secret.Equal(token, a.hash) }

// Require is middleware that answers 401 unless the request carries the
// admin token (or a valid session).
func (a *AdminAuth) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.session != nil && a.session(r) {
			next.ServeHTTP(w, r)
			return
		}
		token, err := BearerToken(r)
		if err == nil && !a.Valid(token) {
			err = apperr.New(apperr.Unauthorized, "invalid admin token")
		}
		if err != nil {
			Error(w, r, nil, err)
			return
		}
		next.ServeHTTP(w, r)
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
