package httpapi

import (
	"crypto/subtle"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatbot/chatbot/secret"
)

// SessionCookie is the admin panel's session cookie.
const SessionCookie = "chatbot_session"

// CSRFHeader carries the per-session token on every state-changing request
// that rides on the session cookie.
const CSRFHeader = "X-CSRF-Token"

// Session is one logged-in browser.
type Session struct {
	CSRF    string
	Expires time.Time
}

// sessions is the in-memory session table. Only the hash of a cookie value
// is kept, so the map is no list of usable cookies. A restart logs everyone
// out, which is acceptable for an admin panel and keeps no session on disk.
type sessions struct {
	mu  sync.Mutex
	m   map[string]Session // secret.Hash(cookie value) -> session
	ttl time.Duration
	max int
	now func() time.Time
	// lookups counts cookie lookups, so a test can show that a route
	// outside the panel never consults the session table.
	lookups atomic.Uint64
}

func newSessions(ttl time.Duration, max int, now func() time.Time) *sessions {
	return &sessions{m: map[string]Session{}, ttl: ttl, max: max, now: now}
}

// create starts a session and returns its cookie value and CSRF token.
func (s *sessions) create() (cookie string, sess Session) {
	cookie = secret.NewToken("s_")
	now := s.now()
	sess = Session{CSRF: secret.NewToken("c_"), Expires: now.Add(s.ttl)}
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
	s.m[secret.Hash(cookie)] = sess
	return cookie, sess
}

func (s *sessions) purgeLocked(now time.Time) {
	for k, v := range s.m {
		if !now.Before(v.Expires) {
			delete(s.m, k)
		}
	}
}

// get returns the live session of a cookie value.
func (s *sessions) get(cookie string) (Session, bool) {
	if cookie == "" {
		return Session{}, false
	}
	s.lookups.Add(1)
	k := secret.Hash(cookie)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	if !ok {
		return Session{}, false
	}
	if !s.now().Before(v.Expires) {
		delete(s.m, k)
		return Session{}, false
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

// SafeMethod reports whether m changes nothing (GET, HEAD, OPTIONS), so
// needs no CSRF token.
func SafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// StartSession logs a browser in: a new session, its cookie value and its
// CSRF token.
func (a *AdminAuth) StartSession() (cookie string, sess Session) { return a.sessions.create() }

// EndSession logs the session of this cookie value out.
func (a *AdminAuth) EndSession(cookie string) { a.sessions.remove(cookie) }

// SessionOf returns the request's live session and its cookie value.
func (a *AdminAuth) SessionOf(r *http.Request) (Session, string, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return Session{}, "", false
	}
	sess, ok := a.sessions.get(c.Value)
	return sess, c.Value, ok
}

// Sessions is the number of live sessions.
func (a *AdminAuth) Sessions() int { return a.sessions.count() }

// SessionLookups is how many times a request's session cookie has been
// looked up in the session table since start.
func (a *AdminAuth) SessionLookups() uint64 { return a.sessions.lookups.Load() }

// CSRFOK reports whether a request of this session passes both checks a
// state-changing one needs: the browser's fetch metadata says same origin,
// and the session's token is in the header. Safe methods always pass.
func (a *AdminAuth) CSRFOK(r *http.Request, sess Session) bool {
	if SafeMethod(r.Method) {
		return true
	}
	if a.cop.Check(r) != nil {
		return false
	}
	got := r.Header.Get(CSRFHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) == 1
}

// SessionValid reports whether the request rides on a live session that
// may do what it asks: any safe request, and a state-changing one with a
// valid CSRF token.
func (a *AdminAuth) SessionValid(r *http.Request) bool {
	sess, _, ok := a.SessionOf(r)
	return ok && a.CSRFOK(r, sess)
}

// SameOrigin refuses (403) a request whose fetch metadata says it came
// from another site; the login form is behind it, so no other site can log
// a browser in.
func (a *AdminAuth) SameOrigin(next http.Handler) http.Handler { return a.cop.Handler(next) }
