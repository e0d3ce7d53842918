package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/chatbot/chatbot/apperr"
)

// DefaultBodyLimit bounds JSON request bodies of the management API.
const DefaultBodyLimit = 1 << 20

// ReadBody checks the content type and encoding, then reads at most limit
// bytes. Over the limit it returns a TooLarge error without reading further.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	if r.ContentLength > limit {
		return nil, apperr.New(apperr.TooLarge, "request body is %d bytes; the limit is %d", r.ContentLength, limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if IsMaxBytes(err) {
			return nil, apperr.New(apperr.TooLarge, "request body is over the limit of %d bytes", limit)
		}
		if isTimeout(err) {
			return nil, apperr.Wrap(Timeout, err, "request body arrived too slowly; send it within the server's read timeout")
		}
		return nil, apperr.Wrap(apperr.Invalid, err, "could not read the request body")
	}
	return body, nil
}

// isTimeout reports whether a body read ended at the connection's read
// deadline (the server's ReadTimeout).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func requireJSON(r *http.Request) error {
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return apperr.New(apperr.Unsupported, "Content-Encoding %q is not accepted; send the body uncompressed", enc)
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return apperr.New(apperr.Unsupported, "Content-Type must be application/json")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return apperr.New(apperr.Unsupported, "Content-Type must be application/json, not %q", ct)
	}
	return nil
}

// Decode reads a JSON object into dst strictly: unknown fields, wrong types,
// duplicate keys, trailing data and non-objects are Invalid errors that
// name the field.
func Decode(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	body, err := ReadBody(w, r, limit)
	if err != nil {
		return err
	}
	return Unmarshal(body, dst)
}

// Unmarshal is Decode's strict parsing on bytes already read.
func Unmarshal(body []byte, dst any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return apperr.Invalidf("", "request body is empty; send a JSON object")
	}
	if trimmed[0] != '{' {
		return apperr.Invalidf("", "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return apperr.Invalidf("", "request body has data after the JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.Invalidf("", "request body has data after the JSON object")
	}
	if key, dup := duplicateKey(trimmed); dup {
		return apperr.Invalidf(key, "duplicate key %q; send each key once", key)
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apperr.Invalidf("", "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return apperr.Invalidf(field, "field %q must be %s, not %s", field, kindName(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Invalidf("", "malformed JSON: the body ends early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this; the field name is quoted in the message.
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Invalidf(name, "unknown field %q; check the spelling against the API documentation", name)
	}
	return apperr.Invalidf("", "malformed JSON: %s", err.Error())
}

func kindName(k string) string {
	switch k {
	case "int", "int64", "int32", "uint", "uint64", "uint32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	}
	return "a " + k
}

// QueryError builds the error for a bad query parameter.
func QueryError(name, format string, args ...any) error {
	return apperr.Invalidf(name, "query parameter %q: %s", name, fmt.Sprintf(format, args...))
}
