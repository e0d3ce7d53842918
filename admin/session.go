package admin

import (
	"crypto/subtle"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
)

// CookieName is the admin session cookie.
const CookieName = "chatbot_session"

// CSRFHeader carries the per-session token on every state-changing request.
const CSRFHeader = "X-CSRF-Token"

// session is one logged-in browser. Only the hash of its cookie value is
// kept, so the map is no list of usable cookies.
type session struct {
	csrf    string
	expires time.Time
}

// sessions is the in-memory session table. A restart logs everyone out,
// which is acceptable for an admin panel and keeps no session on disk.
type sessions struct {
	mu  sync.Mutex
	m   map[string]session // secret.Hash(cookie value) -> session
	ttl time.Duration
	max int
	now func() time.Time
	// lookups counts cookie lookups, so a test can show that a route
	// outside the panel never consults the session table.
	lookups atomic.Uint64
}

func newSessions(ttl time.Duration, max int, now func() time.Time) *sessions {
	return &sessions{m: map[string]session{}, ttl: ttl, max: max, now: now}
}

// create starts a session and returns its cookie value and CSRF token.
func (s *sessions) create() (cookie, csrf string, expires time.Time) {
	cookie, csrf = secret.NewToken("s_"), secret.NewToken("c_")
	now := s.now()
	expires = now.Add(s.ttl)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		s.purgeLocked(now)
	}
	for k := range s.m { // still full: drop any one (the table stays bounded)
		if len(s.m) < s.max {
			break
		}
		delete(s.m, k)
	}
	s.m[secret.Hash(cookie)] = session{csrf: csrf, expires: expires}
	return cookie, csrf, expires
}

func (s *sessions) purgeLocked(now time.Time) {
	for k, v := range s.m {
		if !now.Before(v.expires) {
			delete(s.m, k)
		}
	}
}

// get returns the live session of a cookie value.
func (s *sessions) get(cookie string) (session, bool) {
	if cookie == "" {
		return session{}, false
	}
	s.lookups.Add(1)
	k := secret.Hash(cookie)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	if !ok {
		return session{}, false
	}
	if !s.now().Before(v.expires) {
		delete(s.m, k)
		return session{}, false
	}
	return v, true
}

func (s *sessions) remove(cookie string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, secret.Hash(cookie))
}

func (s *sessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked(s.now())
	return len(s.m)
}

// SessionLookups is how many times a request's session cookie has been
// looked up in the session table since start.
func (h *Handler) SessionLookups() uint64 { return h.sessions.lookups.Load() }

// sessionOf returns the request's live session, if any.
func (h *Handler) sessionOf(r *http.Request) (session, string, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return session{}, "", false
	}
	sess, ok := h.sessions.get(c.Value)
	return sess, c.Value, ok
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrfOK reports whether a state-changing request of this session passes
// both checks: the browser's fetch metadata says same origin, and the
// session's token is in the header.
func (h *Handler) csrfOK(r *http.Request, sess session) bool {
	if safeMethod(r.Method) {
		return true
	}
	if h.cop.Check(r) != nil {
		return false
	}
	got := r.Header.Get(CSRFHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) == 1
}

// SessionValid is the check httpapi.AdminAuth uses to accept the session
// cookie in place of the bearer token: a live session, and for a
// state-changing request also a valid CSRF token.
func (h *Handler) SessionValid(r *http.Request) bool {
	sess, _, ok := h.sessionOf(r)
	return ok && h.csrfOK(r, sess)
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	c := &http.Cookie{
		Name: CookieName, Value: value, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: h.opts.Secure || r.TLS != nil || h.forwardedHTTPS(r),
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
		c.MaxAge = max(int(expires.Sub(h.now())/time.Second), 1)
	}
	http.SetCookie(w, c)
}

// loginLimiter slows down repeated failed logins per client IP: a few
// failures are free, then each further one locks the IP out for twice as
// long as the last, up to a cap. A doubling lockout is no token bucket (a
// bucket would give a failure back every so often), so the policy stays
// here; the bounded per-client table under it is the shared httpapi.Table.
type loginLimiter struct {
	failures *httpapi.Table[string, loginFailures]
	free     int
	base     time.Duration
	cap      time.Duration
}

type loginFailures struct {
	count int
	until time.Time // locked out before this
	last  time.Time
}

// loginForget is how long an IP's failures are remembered after the last one.
const loginForget = time.Hour

// maxLoginClients bounds the table; past it, IPs whose failures are
// forgotten go first, then arbitrary ones.
const maxLoginClients = 10000

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{failures: httpapi.NewTable[string, loginFailures](maxLoginClients, now, (*loginFailures).forgotten),
		free: 3, base: time.Second, cap: 5 * time.Minute}
}

// forgotten reports whether f's last failure is too old to count.
func (f *loginFailures) forgotten(now time.Time) bool { return now.Sub(f.last) > loginForget }

// wait returns how long ip must wait before its next attempt (0: go ahead).
func (l *loginLimiter) wait(ip string) time.Duration {
	var d time.Duration
	l.failures.View(ip, func(f *loginFailures, now time.Time) bool {
		if f.forgotten(now) {
			return false
		}
		d = max(f.until.Sub(now), 0)
		return true
	})
	return d
}

// fail records a failed attempt and returns the lockout it starts (0 if none).
func (l *loginLimiter) fail(ip string) time.Duration {
	var d time.Duration
	l.failures.Update(ip, func(f *loginFailures, now time.Time) bool {
		f.count++
		f.last = now
		if f.count <= l.free {
			return true
		}
		d = l.base << min(f.count-l.free-1, 20)
		if d > l.cap || d <= 0 {
			d = l.cap
		}
		f.until = now.Add(d)
		return true
	})
	return d
}

func (l *loginLimiter) succeed(ip string) { l.failures.Delete(ip) }

// retryAfter rounds a wait up to whole seconds for the Retry-After header.
func retryAfter(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// forwardedHTTPS reports whether a trusted proxy says the client used HTTPS.
func (h *Handler) forwardedHTTPS(r *http.Request) bool {
	return httpapi.ForwardedHTTPS(r, h.opts.TrustedProxies)
}
