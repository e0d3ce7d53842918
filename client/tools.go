package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Tool is an API tool's declaration (the server's tools.Tool); the secret
// comes back masked.
type Tool struct {
	ID          uint64            `json:"id,omitempty"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Method      string            `json:"method"`
	ReadOnly    bool              `json:"read_only,omitempty"`
	URL         string            `json:"url"`
	Headers     map[string]string `json:"headers,omitempty"`
	Auth        ToolAuth          `json:"auth"`
	Params      []ToolParam       `json:"params,omitempty"`
	Triggers    []string          `json:"triggers,omitempty"`
	Examples    []string          `json:"examples,omitempty"`
	Ask         string            `json:"ask,omitempty"`
	Answer      string            `json:"answer"`
	Fields      []string          `json:"fields"`
	Limits      ToolLimits        `json:"limits"`
	EnabledFor  []string          `json:"enabled_for"`
	CreatedAt   time.Time         `json:"created_at,omitzero"`
	UpdatedAt   time.Time         `json:"updated_at,omitzero"`
}

// ToolAuth is how a tool authenticates: none, bearer, basic or api_key.
type ToolAuth struct {
	Kind     string `json:"kind"`
	Header   string `json:"header,omitempty"`
	Username string `json:"username,omitempty"`
	Secret   string `json:"secret,omitempty"`
}

// ToolParam is one parameter of a tool.
type ToolParam struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Pattern     string `json:"pattern,omitempty"`
	Sensitive   bool   `json:"sensitive,omitempty"`
}

// ToolLimits are a tool's limits; zero values are the server's defaults.
type ToolLimits struct {
	TimeoutSeconds        float64 `json:"timeout_seconds,omitempty"`
	MaxResponseBytes      int     `json:"max_response_bytes,omitempty"`
	CallsPerUserPerMinute int     `json:"calls_per_user_per_minute,omitempty"`
	CacheSeconds          int     `json:"cache_seconds,omitempty"`
}

// ToolTestResult is what a test call gave: what the user would see, the
// raw status and the time taken.
type ToolTestResult struct {
	Answer       string `json:"answer"`
	ResponseType string `json:"response_type"`
	Outcome      string `json:"outcome"`
	Status       int    `json:"status"`
	LatencyMS    int64  `json:"latency_ms"`
	Error        string `json:"error,omitempty"`
}

type toolAnswer struct {
	Success bool `json:"success"`
	Tool    Tool `json:"tool"`
}

// CreateTool declares a tool.
func (c *Client) CreateTool(ctx context.Context, t Tool) (Tool, error) {
	var out toolAnswer
	err := c.Do(ctx, http.MethodPost, "/api/tools", t, &out)
	return out.Tool, err
}

// ReplaceTool replaces the tool called name; an empty secret keeps the
// stored one.
func (c *Client) ReplaceTool(ctx context.Context, name string, t Tool) (Tool, error) {
	var out toolAnswer
	err := c.Do(ctx, http.MethodPut, "/api/tools/"+url.PathEscape(name), t, &out)
	return out.Tool, err
}

// Tools lists the tools.
func (c *Client) Tools(ctx context.Context) ([]Tool, error) {
	var out struct {
		Success bool   `json:"success"`
		Tools   []Tool `json:"tools"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/tools", nil, &out)
	return out.Tools, err
}

// GetTool returns the tool called name.
func (c *Client) GetTool(ctx context.Context, name string) (Tool, error) {
	var out toolAnswer
	err := c.Do(ctx, http.MethodGet, "/api/tools/"+url.PathEscape(name), nil, &out)
	return out.Tool, err
}

// DeleteTool removes the tool called name.
func (c *Client) DeleteTool(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodDelete, "/api/tools/"+url.PathEscape(name), nil, nil)
}

// TestTool makes the tool's real call with params as the user asUser.
func (c *Client) TestTool(ctx context.Context, name string, params map[string]string, asUser string) (ToolTestResult, error) {
	var out struct {
		Success bool           `json:"success"`
		Result  ToolTestResult `json:"result"`
	}
	in := map[string]any{"params": params, "as_user": asUser}
	err := c.Do(ctx, http.MethodPost, "/api/tools/"+url.PathEscape(name)+"/test", in, &out)
	return out.Result, err
}

// ToolCalls lists the latest recorded tool calls, newest first.
func (c *Client) ToolCalls(ctx context.Context, limit int) ([]map[string]any, error) {
	var out struct {
		Success bool             `json:"success"`
		Calls   []map[string]any `json:"calls"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/tools/calls?limit="+strconv.Itoa(limit), nil, &out)
	return out.Calls, err
}
