// Package apperr is the one error type the domain packages return when a
// caller (an HTTP client, a CLI user) must be told what went wrong. It keeps
// the public message apart from the internal cause, and knows nothing of
// HTTP: httpapi maps codes to status codes in one place.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error for the caller.
type Code string

const (
	Invalid      Code = "invalid"      // the request is wrong; Field says where
	Unauthorized Code = "unauthorized" // missing or bad credentials
	Forbidden    Code = "forbidden"    // authenticated but not allowed
	NotFound     Code = "not_found"    // no such thing
	Conflict     Code = "conflict"     // duplicate or wrong state
	TooLarge     Code = "too_large"    // over a size limit
	Unsupported  Code = "unsupported"  // wrong media type
	RateLimited  Code = "rate_limited" // slow down; RetryAfter says how long
	Unavailable  Code = "unavailable"  // overloaded or shutting down
	Internal     Code = "internal"     // our fault; the cause is logged, not shown
)

// Error is a domain error with a message that is safe to show.
type Error struct {
	Code    Code
	Message string // for a human; never contains secrets
	Field   string // the offending field, for Invalid
	// RetryAfterSeconds is set with RateLimited and Unavailable.
	RetryAfterSeconds int
	// Err is the internal cause, logged but never shown.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a code and a formatted public message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf reports a bad field; the message should say how to fix it.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap keeps cause as the internal error behind a public message.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
