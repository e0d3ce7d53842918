// Package client is a small Go client for chatbot's own HTTP API, used by
// CLI commands that must reach a running server and by integration tests.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chatbot/chatbot/webhook"
)

// Client calls one chatbot server with the admin token.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for the server at base (e.g. "http://127.0.0.1:8080").
func New(base, adminToken string) *Client {
	return &Client{base: strings.TrimRight(base, "/"), token: adminToken, http: &http.Client{Timeout: 60 * time.Second}}
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

// Do sends a JSON request and decodes a 2xx JSON answer into out (if not nil).
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
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
		}
	}
	return nil
}

// CreateConfig creates a webhook config.
func (c *Client) CreateConfig(ctx context.Context, in webhook.ConfigInput) (webhook.ConfigView, error) {
	var out struct {
		Config webhook.ConfigView `json:"config"`
	}
	err := c.Do(ctx, http.MethodPost, "/api/webhook/config", in, &out)
	return out.Config, err
}

// ListConfigs lists the webhook configs.
func (c *Client) ListConfigs(ctx context.Context) ([]webhook.ConfigView, error) {
	var out struct {
		Configs []webhook.ConfigView `json:"configs"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/webhook/config", nil, &out)
	return out.Configs, err
}

// GetConfig returns one webhook config.
func (c *Client) GetConfig(ctx context.Context, id uint64) (webhook.ConfigView, error) {
	var out struct {
		Config webhook.ConfigView `json:"config"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/webhook/config/"+strconv.FormatUint(id, 10), nil, &out)
	return out.Config, err
}

// DeleteConfig deletes a webhook config.
func (c *Client) DeleteConfig(ctx context.Context, id uint64) error {
	return c.Do(ctx, http.MethodDelete, "/api/webhook/config/"+strconv.FormatUint(id, 10), nil, nil)
}

// FindConfig returns the config with id or name ref.
func (c *Client) FindConfig(ctx context.Context, ref string) (webhook.ConfigView, error) {
	if id, err := strconv.ParseUint(ref, 10, 64); err == nil {
		v, err := c.GetConfig(ctx, id)
		if ae, ok := err.(*APIError); !ok || ae.Status != http.StatusNotFound {
			return v, err
		}
	}
	all, err := c.ListConfigs(ctx)
	if err != nil {
		return webhook.ConfigView{}, err
	}
	for _, v := range all {
		if strings.EqualFold(v.Name, ref) {
			return v, nil
		}
	}
	return webhook.ConfigView{}, &APIError{Status: http.StatusNotFound, Message: fmt.Sprintf("webhook config %q not found", ref)}
}
