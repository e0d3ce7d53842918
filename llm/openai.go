package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// HTTPError is an LLM server's refusal, whatever its API: the status, the
// server's own message, and for 429 how long it asked us to wait.
type HTTPError struct {
	Status     int
	Message    string
	RetryAfter time.Duration
	// KeySource names where the API key came from (CHATBOT_LLM_API_KEY,
	// a file), so that a 401 says which key to fix.
	KeySource string
}

func (e *HTTPError) Error() string {
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		fix := "no API key was configured: set CHATBOT_LLM_API_KEY or CHATBOT_LLM_API_KEY_FILE"
		if e.KeySource != "" {
			fix = "check the API key from " + e.KeySource
		}
		return fmt.Sprintf("HTTP %d: the server refused the API key (%s); %s", e.Status, e.Message, fix)
	case e.Message == "":
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

// OpenAIBaseURL checks an OpenAI-compatible server's base URL (the part
// before /chat/completions) and adds /v1 when it has no path, the usual
// mount point of vLLM, llama.cpp's server, LM Studio, TGI and Ollama.
func OpenAIBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL such as http://127.0.0.1:8000/v1", s)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q: put the API key in CHATBOT_LLM_API_KEY(_FILE), not in the URL", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if u.Path == "" {
		u.Path = "/v1"
	}
	return u, nil
}

// retryAfterKey carries, in a request's context, where the 429's
// Retry-After is written: the client library does not expose headers.
type retryAfterKey struct{}

// WithRetryAfter returns a context under which an OpenAI client made by
// NewOpenAIClient records a 429's Retry-After in *d.
func WithRetryAfter(ctx context.Context, d *time.Duration) context.Context {
	return context.WithValue(ctx, retryAfterKey{}, d)
}

type retryAfterDoer struct{ hc *http.Client }

func (r retryAfterDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.hc.Do(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := req.Context().Value(retryAfterKey{}).(*time.Duration); ok {
			*d = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
	}
	return resp, err
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// NewOpenAIClient is a go-openai client of base (from OpenAIBaseURL) that
// records Retry-After (WithRetryAfter).
func NewOpenAIClient(base *url.URL, apiKey string, hc *http.Client) *openai.Client {
	cfg := openai.DefaultConfig(apiKey)
	cfg.BaseURL = base.String()
	cfg.HTTPClient = retryAfterDoer{hc}
	return openai.NewClientWithConfig(cfg)
}

// OpenAIError makes go-openai's errors HTTPErrors (with retryAfter and
// keySource); other errors are returned as they are.
func OpenAIError(err error, retryAfter time.Duration, keySource string) error {
	var ae *openai.APIError
	var re *openai.RequestError
	he := &HTTPError{RetryAfter: retryAfter, KeySource: keySource}
	switch {
	case errors.As(err, &ae) && ae.HTTPStatusCode > 0:
		he.Status, he.Message = ae.HTTPStatusCode, ae.Message
	case errors.As(err, &re) && re.HTTPStatusCode > 0:
		he.Status, he.Message = re.HTTPStatusCode, strings.TrimSpace(string(re.Body))
	default:
		return err
	}
	if len(he.Message) > 300 { // an HTML error page says nothing more past this
		he.Message = he.Message[:300] + "..."
	}
	return he
}
