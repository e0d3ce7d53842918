// Package tools lets the bot answer from the operator's own systems ("where
// is my order?"): an operator declares read-only HTTP tools; a tool fires
// when a trigger matches a user's message, asks for a missing parameter,
// calls the API through the outbound guard and renders its answer from the
// allowed response fields only.
package tools

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/chatbot/chatbot/apperr"
)

// Tool is an operator's declaration of one API lookup. Its JSON names are
// close to OpenAPI's and OpenAI-style function calling's.
type Tool struct {
	ID          uint64 `json:"id,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Method is GET, or POST for a lookup declared ReadOnly (some search
	// APIs take their query in a body); the body is the parameters as a
	// JSON object.
	Method   string `json:"method"`
	ReadOnly bool   `json:"read_only,omitempty"`
	// URL is a template: {param} for a parameter, {{user_id}} and the
	// like for identity values; the scheme and host are fixed.
	URL string `json:"url"`
	// Headers are sent as they are; a value may hold identity values
	// ({{user_id}}) but no parameter (the user's words stay in the URL).
	Headers map[string]string `json:"headers,omitempty"`
	Auth    Auth              `json:"auth"`
	Params  []Param           `json:"params,omitempty"`
	// Triggers are regular expressions over the user's message; their
	// named groups fill parameters of the same name.
	Triggers []string `json:"triggers,omitempty"`
	// Examples are questions the tool answers (shown to a model).
	Examples []string `json:"examples,omitempty"`
	// Ask is what the bot says when a required parameter is missing;
	// {name} is the parameter's name.
	Ask string `json:"ask,omitempty"`
	// Answer is the reply, a template over Fields and the parameters.
	Answer string `json:"answer"`
	// Fields are the only response fields (dotted paths) that may reach
	// the user or a model; everything else in the response is dropped.
	Fields []string `json:"fields"`
	Limits Limits   `json:"limits"`
	// EnabledFor lists where the tool answers: "*" (everywhere),
	// "webhook:ID", "widget:ID" or "cli". Empty: nowhere (declared only).
	EnabledFor []string  `json:"enabled_for"`
	CreatedAt  time.Time `json:"created_at,omitzero"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
}

// Auth is how the tool authenticates to its API.
type Auth struct {
	Kind     string `json:"kind"`               // none, bearer, basic or api_key
	Header   string `json:"header,omitempty"`   // api_key: the header carrying the key
	Username string `json:"username,omitempty"` // basic
	// Secret is the token, password or key: sealed at rest, masked when
	// read back, never given to a model or written to a log.
	Secret string `json:"secret,omitempty"`
}

// Auth kinds.
const (
	AuthNone   = "none"
	AuthBearer = "bearer"
	AuthBasic  = "basic"
	AuthAPIKey = "api_key"
)

// Param is one value the call needs from the user's words.
type Param struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	// Pattern is the value's shape (RE2, matched whole); it also finds
	// the value in a message no trigger group filled it from.
	Pattern string `json:"pattern,omitempty"`
	// Sensitive values are scrubbed from the call log.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Limits of a tool; zero values take the defaults.
type Limits struct {
	TimeoutSeconds        float64 `json:"timeout_seconds,omitempty"`           // default 5
	MaxResponseBytes      int     `json:"max_response_bytes,omitempty"`        // default 65536
	CallsPerUserPerMinute int     `json:"calls_per_user_per_minute,omitempty"` // default 10
	CacheSeconds          int     `json:"cache_seconds,omitempty"`             // default 0: no cache
}

// Defaults and bounds of Limits.
const (
	DefaultTimeout          = 5 * time.Second
	DefaultMaxResponseBytes = 64 << 10
	DefaultCallsPerMinute   = 10
	maxTimeout              = 30 * time.Second
	maxResponseBytes        = 1 << 20
	maxCallsPerMinute       = 600
	maxCacheSeconds         = 86400
	maxListLen              = 20
	maxParamValueRunes      = 200
)

// Timeout is the call's own deadline.
func (l Limits) Timeout() time.Duration {
	if l.TimeoutSeconds <= 0 {
		return DefaultTimeout
	}
	return time.Duration(l.TimeoutSeconds * float64(time.Second))
}

// MaxBytes is the largest response read.
func (l Limits) MaxBytes() int {
	if l.MaxResponseBytes <= 0 {
		return DefaultMaxResponseBytes
	}
	return l.MaxResponseBytes
}

// PerMinute is the calls one user may cause per minute.
func (l Limits) PerMinute() int {
	if l.CallsPerUserPerMinute <= 0 {
		return DefaultCallsPerMinute
	}
	return l.CallsPerUserPerMinute
}

// Cache is how long a response is reused for the same request.
func (l Limits) Cache() time.Duration { return time.Duration(l.CacheSeconds) * time.Second }

// Masked is t as shown when read back: the secret's last characters only.
func (t Tool) Masked() Tool {
	t.Auth.Secret = mask(t.Auth.Secret)
	return t
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	if len(s) <= 8 {
		return "****"
	}
	return "****" + s[len(s)-4:]
}

// EnabledIn reports whether the tool answers in this integration.
func (t Tool) EnabledIn(configID, widgetID uint64) bool {
	for _, e := range t.EnabledFor {
		switch {
		case e == "*":
			return true
		case configID != 0 && e == "webhook:"+strconv.FormatUint(configID, 10):
			return true
		case widgetID != 0 && e == "widget:"+strconv.FormatUint(widgetID, 10):
			return true
		case configID == 0 && widgetID == 0 && e == "cli":
			return true
		}
	}
	return false
}

// Compiled is a validated tool, ready to match and call.
type Compiled struct {
	Tool
	url      Template
	headers  map[string]Template
	answer   Template
	ask      Template
	triggers []*regexp.Regexp
	patterns map[string]*regexp.Regexp // anchored, by parameter
	finders  map[string]*regexp.Regexp // unanchored, by parameter
	fields   map[string]bool
	// exampleVecs are the examples embedded, set by the Step that
	// compiled the tool when it has an embedder.
	exampleVecs [][]float32
}

// Param returns the declared parameter called name.
func (c *Compiled) Param(name string) (Param, bool) {
	for _, p := range c.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// ValidValue reports whether v is an acceptable value of parameter name:
// not empty, not too long, no control characters, its pattern matched
// whole.
func (c *Compiled) ValidValue(name, v string) bool {
	if v == "" || len([]rune(v)) > maxParamValueRunes || strings.ContainsFunc(v, isControl) {
		return false
	}
	if re := c.patterns[name]; re != nil {
		return re.MatchString(v)
	}
	return true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// RequestURL renders the URL with params and identity values: path values
// escaped as one path segment ("." and ".." too), query values as query
// values.
func (c *Compiled) RequestURL(params map[string]string, id Identity) (string, error) {
	return c.url.Render(func(name string, identity bool, before string) (string, bool) {
		v, ok := params[name]
		if identity {
			v, ok = id.Value(name)
		}
		if !ok || v == "" {
			return "", false
		}
		if strings.Contains(before, "?") {
			return url.QueryEscape(v), true
		}
		if v == "." || v == ".." {
			return strings.ReplaceAll(v, ".", "%2E"), true
		}
		return url.PathEscape(v), true
	})
}

// fieldErr is a declaration error naming its field, for the API and the
// CLI as they are.
func fieldErr(field, format string, args ...any) error {
	return apperr.Invalidf(field, "%s %s", field, fmt.Sprintf(format, args...))
}
