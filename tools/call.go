package tools

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/internal/netguard"
	"github.com/chatbot/chatbot/store"
)

// Outcomes of a call, as recorded and counted.
const (
	OutcomeOK          = "ok"
	OutcomeCached      = "cached"
	OutcomeTimeout     = "timeout"
	OutcomeHTTPError   = "http_error"   // a status other than 2xx
	OutcomeRedirect    = "redirect"     // 3xx: never followed
	OutcomeTooLarge    = "too_large"    // over limits.max_response_bytes
	OutcomeNotJSON     = "not_json"     // wrong content type or unparsable body
	OutcomeBlocked     = "blocked"      // the address policy refused the host
	OutcomeError       = "error"        // the connection failed
	OutcomeBreakerOpen = "breaker_open" // the tool failed repeatedly; resting
	OutcomeRateLimited = "rate_limited" // the user's calls per minute are spent
	OutcomeBadRequest  = "bad_request"  // the request could not be built (a missing value)
	// OutcomeMissingField: the call succeeded but the answer template
	// names a field the response lacked (the user gets an apology).
	OutcomeMissingField = "missing_field"
)

// Recorder keeps the call log: *store.Store.
type Recorder interface {
	AppendToolCall(c *store.ToolCall) error
}

// Options configure a Caller.
type Options struct {
	// Policy is the outbound address policy (--allow-outgoing); nil
	// refuses private ranges.
	Policy *netguard.AddrPolicy
	// Resolver looks up host names (nil: the system's); tests stub it.
	Resolver netguard.Resolver
	Recorder Recorder // nil: calls are not recorded
	Now      func() time.Time
	Log      *slog.Logger
}

// Caller makes tool calls: through the outbound guard, within limits, with
// a breaker per tool, and records and counts each.
type Caller struct {
	client   *http.Client
	rec      Recorder
	now      func() time.Time
	log      *slog.Logger
	limiter  *httpapi.Limiter[string]
	breakers breakers
	cache    *cache
	metrics  *metrics
}

// NewCaller returns a caller with its own HTTP client.
func NewCaller(opts Options) (*Caller, error) {
	if opts.Policy == nil {
		p, err := netguard.ParseAllowList("")
		if err != nil {
			return nil, err
		}
		opts.Policy = p
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	dialer := netguard.NewDialer(opts.Policy, opts.Resolver)
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us and bypass the guard
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          20,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       60 * time.Second,
		ResponseHeaderTimeout: maxTimeout,
	}
	client := &http.Client{Transport: transport,
		// A redirect could lead anywhere (and the guard would have to be
		// asked again); the API must answer where it was declared.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Caller{client: client, rec: opts.Recorder, now: opts.Now, log: opts.Log,
		limiter:  httpapi.NewLimiter[string](10000, opts.Now),
		breakers: breakers{m: map[string]*breaker{}, now: opts.Now},
		cache:    newCache(1000, opts.Now), metrics: newMetrics()}, nil
}

// Call is one call to make.
type Call struct {
	Tool   *Compiled
	Params map[string]string
	Who    Identity
	// Scope names the integration the user is in, so that the same user
	// id on two platforms is two users for the limits.
	Scope string
}

// Result is what a call gave.
type Result struct {
	Outcome string
	Status  int               // the HTTP status, 0 when none came
	Fields  map[string]string // the allowed fields present in the response
	Latency time.Duration
	Err     error // the cause of a failed outcome, for logs; never shown to users
}

// Do makes the call within ctx (and the tool's own timeout), records it
// and counts it. It never returns fields outside the tool's allow-list.
func (c *Caller) Do(ctx context.Context, call Call) Result {
	start := c.now()
	r := c.do(ctx, call)
	r.Latency = c.now().Sub(start)
	c.metrics.observe(call.Tool.Name, r.Outcome, r.Latency)
	c.record(call, r)
	return r
}

func (c *Caller) do(ctx context.Context, call Call) Result {
	t := call.Tool
	req, key, err := c.build(ctx, call)
	if err != nil {
		return Result{Outcome: OutcomeBadRequest, Err: err}
	}
	if t.Limits.Cache() > 0 {
		if f, ok := c.cache.get(key); ok {
			return Result{Outcome: OutcomeCached, Status: http.StatusOK, Fields: f}
		}
	}
	if ok, _ := c.limiter.Take(t.Name+"\x00"+call.Scope+"\x00"+call.Who.UserID, t.Limits.PerMinute()); !ok {
		return Result{Outcome: OutcomeRateLimited}
	}
	b := c.breakers.get(t.Name)
	if !b.allow() {
		return Result{Outcome: OutcomeBreakerOpen}
	}
	cctx, cancel := context.WithTimeout(ctx, t.Limits.Timeout())
	defer cancel()
	r := c.send(req.WithContext(cctx), t)
	b.done(r.Outcome == OutcomeOK || r.Outcome == OutcomeHTTPError && r.Status < 500)
	if r.Outcome == OutcomeOK && t.Limits.Cache() > 0 {
		c.cache.put(key, r.Fields, t.Limits.Cache())
	}
	return r
}

// build makes the request; key names it for the cache (the URL and the
// identity headers: two users never share an entry their headers tell
// apart).
func (c *Caller) build(ctx context.Context, call Call) (*http.Request, string, error) {
	t := call.Tool
	u, err := t.RequestURL(call.Params, call.Who)
	if err != nil {
		return nil, "", fmt.Errorf("url: %w", err)
	}
	var body io.Reader
	var bodyKey []byte
	if t.Method == http.MethodPost {
		vals := map[string]string{}
		for _, p := range t.Params {
			if v, ok := call.Params[p.Name]; ok {
				vals[p.Name] = v
			}
		}
		if bodyKey, err = json.Marshal(vals); err != nil {
			return nil, "", err
		}
		body = bytes.NewReader(bodyKey)
	}
	req, err := http.NewRequestWithContext(ctx, t.Method, u, body)
	if err != nil {
		return nil, "", fmt.Errorf("request: %w", err)
	}
	key := strings.Builder{}
	key.WriteString(t.Name + "\x00" + t.Method + "\x00" + u + "\x00")
	key.Write(bodyKey)
	for name, tpl := range t.headers {
		v, err := tpl.Render(func(n string, _ bool, _ string) (string, bool) { return call.Who.Value(n) })
		if err != nil {
			return nil, "", fmt.Errorf("header %s: %w", name, err)
		}
		req.Header.Set(name, v)
		key.WriteString("\x00" + name + "=" + v)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "chatbot-tools/1")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch t.Auth.Kind {
	case AuthBearer:
		req.Header.Set("Authorization", "Bearer "+t.Auth.Secret)
	case AuthBasic:
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(t.Auth.Username+":"+t.Auth.Secret)))
	case AuthAPIKey:
		req.Header.Set(t.Auth.Header, t.Auth.Secret)
	}
	return req, key.String(), nil
}

func (c *Caller) send(req *http.Request, t *Compiled) Result {
	resp, err := c.client.Do(req)
	if err != nil {
		var blocked *netguard.BlockedError
		switch {
		case errors.As(err, &blocked):
			return Result{Outcome: OutcomeBlocked, Err: err}
		case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
			return Result{Outcome: OutcomeTimeout, Err: err}
		}
		return Result{Outcome: OutcomeError, Err: err}
	}
	defer resp.Body.Close()
	r := Result{Status: resp.StatusCode}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		r.Outcome, r.Err = OutcomeRedirect, fmt.Errorf("the API redirected (status %d); redirects are not followed: declare the final URL", resp.StatusCode)
		return r
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		r.Outcome, r.Err = OutcomeHTTPError, fmt.Errorf("the API answered status %d", resp.StatusCode)
		return r
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		r.Outcome, r.Err = OutcomeNotJSON, fmt.Errorf("the API answered content type %q, not JSON", resp.Header.Get("Content-Type"))
		return r
	}
	limit := t.Limits.MaxBytes()
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		if req.Context().Err() != nil || isTimeout(err) {
			r.Outcome, r.Err = OutcomeTimeout, err
			return r
		}
		r.Outcome, r.Err = OutcomeError, fmt.Errorf("read the response: %w", err)
		return r
	}
	if len(data) > limit {
		r.Outcome, r.Err = OutcomeTooLarge, fmt.Errorf("the response is over %d bytes (limits.max_response_bytes)", limit)
		return r
	}
	fields, err := allowedFields(data, t.Fields)
	if err != nil {
		r.Outcome, r.Err = OutcomeNotJSON, err
		return r
	}
	r.Outcome, r.Fields = OutcomeOK, fields
	return r
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// maxFieldRunes caps one field's value in an answer.
const maxFieldRunes = 500

// allowedFields decodes a JSON response and keeps only the scalar values
// at the allowed paths: nothing else of the response goes further.
func allowedFields(data []byte, allowed []string) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("the response is not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the response has data after its JSON value")
	}
	out := map[string]string{}
	for _, path := range allowed {
		v, ok := scalarAt(doc, path)
		if !ok {
			continue
		}
		v = strings.Map(func(r rune) rune {
			if isControl(r) && r != '\n' {
				return ' '
			}
			return r
		}, v)
		if utf8.RuneCountInString(v) > maxFieldRunes {
			v = string([]rune(v)[:maxFieldRunes]) + "…"
		}
		out[path] = v
	}
	return out, nil
}

// scrubbed are the params as recorded: sensitive ones, and any value that
// is the tool's secret, replaced.
func scrubbed(t *Compiled, params map[string]string) map[string]string {
	out := make(map[string]string, len(params))
	for k, v := range params {
		if p, ok := t.Param(k); (ok && p.Sensitive) || (t.Auth.Secret != "" && strings.Contains(v, t.Auth.Secret)) {
			v = "[redacted]"
		}
		out[k] = v
	}
	return out
}

func (c *Caller) record(call Call, r Result) {
	c.log.Info("tool call", "tool", call.Tool.Name, "outcome", r.Outcome, "status", r.Status,
		"latency_ms", r.Latency.Milliseconds(), "err", errText(r.Err))
	if c.rec == nil {
		return
	}
	rec := &store.ToolCall{At: c.now().UTC(), ConversationID: call.Who.ConversationID, UserID: call.Who.UserID,
		Platform: call.Who.Platform, Tool: call.Tool.Name, Params: scrubbed(call.Tool, call.Params), Status: r.Status,
		LatencyMS: r.Latency.Milliseconds(), Outcome: r.Outcome}
	if err := c.rec.AppendToolCall(rec); err != nil {
		c.log.Warn("tool call not recorded", "tool", call.Tool.Name, "err", err)
	}
}

// errText is an error for the log, without anything secret: the call's
// errors name statuses, sizes and addresses, never headers.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
