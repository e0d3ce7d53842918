package httpapi

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/secret"
)

// AuthOptions configure the authenticator. TokenHash is required.
type AuthOptions struct {
	// TokenHash is the hash (secret.Hash) of the admin token.
	TokenHash string
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// whose wrong tokens are counted.
	TrustedProxies []netip.Prefix
	// FailuresPerMinute is the wrong tokens a client may send per minute
	// before the rest get 429; 0 is DefaultAuthFailuresPerMinute.
	FailuresPerMinute int
	SessionTTL        time.Duration // default 8h
	MaxSessions       int           // default 1000
	Now               func() time.Time
}

// AdminAuth is the one authenticator of the management API and the admin
// panel, built once and handed to every package's Routes: a request passes
// with the admin token, or with a live panel session, whose state-changing
// requests must also carry the session's CSRF token and come from the
// panel's own origin. Only the token's SHA-256 hash is held, and the
// comparison is constant-time over the digests, so a near-right token
// takes as long to refuse as a wildly wrong one.
type AdminAuth struct {
	hash     string
	sessions *sessions
	cop      *http.CrossOriginProtection
	// failures throttles wrong tokens per client (ClientIP behind trusted).
	failures *FailureThrottle
	trusted  []netip.Prefix
}

// NewAuth returns the authenticator.
func NewAuth(opts AuthOptions) *AdminAuth {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 8 * time.Hour
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 1000
	}
	a := &AdminAuth{
		hash:     opts.TokenHash,
		sessions: newSessions(opts.SessionTTL, opts.MaxSessions, opts.Now),
		cop:      http.NewCrossOriginProtection(),
		failures: NewFailureThrottle(opts.FailuresPerMinute, opts.Now),
		trusted:  opts.TrustedProxies,
	}
	a.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, nil, apperr.New(apperr.Forbidden, "cross-origin request refused"))
	}))
	return a
}

// NewAdminAuth is NewAuth with the defaults: no trusted proxies, the
// default failure rate, the wall clock.
func NewAdminAuth(tokenHash string) *AdminAuth { return NewAuth(AuthOptions{TokenHash: tokenHash}) }

// Valid reports whether token is the admin token.
func (a *AdminAuth) Valid(token string) bool { return secret.Equal(token, a.hash) }

// ClientIP is the request's client as this authenticator counts it.
func (a *AdminAuth) ClientIP(r *http.Request) netip.Addr { return ClientIP(r, a.trusted) }

// errCSRF answers a cookie-authenticated write without a valid CSRF token.
const errCSRF = "missing or wrong CSRF token; reload the admin page"

// Require is middleware that lets a request through with a live session
// (a state-changing one only with its CSRF token, else 403) or the admin
// token (else 401). A write that rides on the cookie alone (no
// Authorization header) with a bad CSRF token is refused 403 before the
// token is considered. The token is checked before the throttle: only a
// request that fails counts against its client, and one that fails while
// its client is over the failure rate gets 429 instead of 401. A request
// without any Authorization header guesses nothing and is not counted.
func (a *AdminAuth) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hasAuthorization := len(r.Header.Values("Authorization")) > 0
		if sess, _, ok := a.SessionOf(r); ok {
			if a.CSRFOK(r, sess) {
				next.ServeHTTP(w, r)
				return
			}
			if !hasAuthorization {
				Error(w, r, nil, apperr.New(apperr.Forbidden, errCSRF))
				return
			}
		}
		token, err := BearerToken(r)
		if err == nil && a.Valid(token) {
			next.ServeHTTP(w, r)
			return
		}
		if err == nil {
			err = apperr.New(apperr.Unauthorized, "invalid admin token")
		}
		if hasAuthorization {
			if limited := a.failures.Fail(a.ClientIP(r)); limited != nil {
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
