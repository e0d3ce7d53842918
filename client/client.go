// Package client is a small Go client for chatbot's own HTTP API, used by
// CLI commands that must reach a running server, by the benchmark and by
// integration tests. It depends on nothing of the server: it has its own
// copies of the request and answer types (types.go) and one typed method
// per call, so a program that only talks to a server does not link bbolt,
// the index or the LLM clients (deps_test.go keeps it so).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls one chatbot server with the admin token.
type Client struct {
	base   string
	token  string
	http   *http.Client
	strict bool // refuse answer fields this client does not know (Strict)
}

// New returns a client for the server at base (e.g. "http://127.0.0.1:8080").
func New(base, adminToken string) *Client {
	return &Client{base: strings.TrimRight(base, "/"), token: adminToken, http: &http.Client{Timeout: 60 * time.Second}}
}

// Base is the server's URL, for a request the typed methods cannot make
// (e.g. a platform's signed event to its events endpoint).
func (c *Client) Base() string { return c.base }

// Strict makes the client refuse a server answer with a field its types do
// not know, instead of ignoring it. The CLI stays lenient (a newer server
// may add fields); the contract tests use it so that a field the server
// added and the client lacks fails them.
func (c *Client) Strict() *Client {
	cc := *c
	cc.strict = true
	return &cc
}

// APIError is an error answer of the server.
type APIError struct {
	Status  int
	Message string
	Field   string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("server answered %d: %s", e.Status, e.Message)
}

// Do sends a JSON request to path and decodes a 2xx JSON answer into out
// (if not nil). Callers use the typed methods; Do is left for the endpoints
// that have none yet.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = http.StatusText(resp.StatusCode)
		}
		return &APIError{Status: resp.StatusCode, Message: e.Error, Field: e.Field}
	}
	if out != nil {
		dec := json.NewDecoder(bytes.NewReader(data))
		if c.strict {
			dec.DisallowUnknownFields()
		}
		if err := dec.Decode(out); err != nil {
			return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
		}
	}
	return nil
}
