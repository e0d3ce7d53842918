package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/chatbot/chatbot/apperr"
)

type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the id the middleware gave this request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Flush lets streaming handlers (server-sent events) flush through the recorder.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Logging assigns a request id, recovers panics as 500s and writes one
// access-log line per request: method, path (no query: it may hold
// secrets), status, size and duration. Never headers or bodies.
func Logging(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := newRequestID()
			r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
			rec := &statusRecorder{ResponseWriter: w}
			rec.Header().Set("X-Request-Id", id)
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.Error("panic in handler", "request_id", id, "path", r.URL.Path, "panic", p)
					if rec.status == 0 {
						Error(rec, r, nil, apperr.New(apperr.Internal, "internal error"))
					}
				}
				level := slog.LevelInfo
				if rec.status >= 500 {
					level = slog.LevelWarn
				}
				log.Log(r.Context(), level, "http request", "request_id", id, "method", r.Method,
					"path", r.URL.Path, "status", rec.status, "bytes", rec.bytes,
					"duration_ms", float64(time.Since(start).Microseconds())/1000)
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// BearerToken returns the token of the request's single Authorization
// header. The scheme is case-insensitive; two headers are an error so that
// "first one wins" can never happen by accident.
func BearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", apperr.New(apperr.Unauthorized, "missing Authorization header; send Authorization: Bearer <token>")
	case 1:
	default:
		return "", apperr.New(apperr.Unauthorized, "send exactly one Authorization header")
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", apperr.New(apperr.Unauthorized, "Authorization must be: Bearer <token>")
	}
	return strings.TrimSpace(token), nil
}

// SecurityHeaders sets headers every response should carry, and
// Strict-Transport-Security on responses served over TLS.
func SecurityHeaders(next http.Handler) http.Handler { return SecurityHeadersBehind(nil)(next) }

// HSTS is the Strict-Transport-Security value: one year. It is sent only
// on responses the client got over HTTPS (browsers ignore it over plain
// HTTP, and it must not pin a server that has no TLS).
const HSTS = "max-age=31536000"

// SecurityHeadersBehind is SecurityHeaders for a server behind proxies:
// a request that a trusted proxy says came over HTTPS (X-Forwarded-Proto)
// also gets Strict-Transport-Security.
func SecurityHeadersBehind(trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
			if r.TLS != nil || ForwardedHTTPS(r, trusted) {
				h.Set("Strict-Transport-Security", HSTS)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ForwardedHTTPS reports whether the request's peer is a trusted proxy
// that says the client used HTTPS.
func ForwardedHTTPS(r *http.Request, trusted []netip.Prefix) bool {
	if len(trusted) == 0 || !strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return false
	}
	peer, ok := parseHop(r.RemoteAddr) // the peer read as ClientIP reads it
	return ok && InPrefixes(peer, trusted)
}
