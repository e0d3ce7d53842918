// Package httpapi holds what every HTTP package of the service shares: the
// JSON envelope, strict request decoding, the single mapping from errors to
// status codes, bearer-token parsing and the common middleware.
package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/chatbot/chatbot/apperr"
)

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v) // the client may be gone; nothing useful to do
}

type errorBody struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Field   string `json:"field,omitempty"`
}

// Timeout is the code of a request body that did not arrive within the
// server's read timeout (408). It lives here, not in apperr: only an HTTP
// read can be too slow.
const Timeout apperr.Code = "timeout"

// statusOf is the one table from domain codes to HTTP status codes.
var statusOf = map[apperr.Code]int{
	apperr.Invalid:      http.StatusBadRequest,
	apperr.Unauthorized: http.StatusUnauthorized,
	apperr.Forbidden:    http.StatusForbidden,
	apperr.NotFound:     http.StatusNotFound,
	apperr.Conflict:     http.StatusConflict,
	apperr.TooLarge:     http.StatusRequestEntityTooLarge,
	apperr.Unsupported:  http.StatusUnsupportedMediaType,
	apperr.RateLimited:  http.StatusTooManyRequests,
	apperr.Unavailable:  http.StatusServiceUnavailable,
	apperr.Internal:     http.StatusInternalServerError,
	Timeout:             http.StatusRequestTimeout,
}

// StatusOf returns the HTTP status for err.
func StatusOf(err error) int {
	if s, ok := statusOf[apperr.CodeOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error writes err as the JSON error envelope. Errors that are not an
// *apperr.Error are internal: logged with the request id, never shown.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := StatusOf(err)
	body := errorBody{Error: "internal error; the server log has details (request id " + RequestID(r.Context()) + ")"}
	if e, ok := apperr.As(err); ok && e.Code != apperr.Internal {
		body.Error, body.Field = e.Message, e.Field
		if e.RetryAfterSeconds > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds))
		}
		if e.Code == apperr.Unauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="chatbot"`)
		}
	}
	if status >= 500 && log != nil {
		log.ErrorContext(r.Context(), "request failed", "request_id", RequestID(r.Context()),
			"method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	WriteJSON(w, status, body)
}

// IsMaxBytes reports whether err came from an http.MaxBytesReader limit.
func IsMaxBytes(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
