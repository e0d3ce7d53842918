package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/chatbot/chatbot/llm"
)

// Errors of the LLM client. The engine answers extractively on any of them;
// the reason ends up in Reply.Fallback.
var (
	// ErrLLMDown means every host's circuit breaker is open: recent calls
	// failed and a background check has not yet seen one come back.
	ErrLLMDown = llm.ErrDown
	// ErrLLMBusy means every generation slot and queue place is taken (or
	// every host asked us to slow down).
	ErrLLMBusy = llm.ErrBusy
	// ErrLLMIncomplete means the stream ended before the server said it was done.
	ErrLLMIncomplete = errors.New("llm stream ended before the answer was complete")
	// ErrLLMEmpty means the model produced only whitespace.
	ErrLLMEmpty = errors.New("llm returned an empty answer")
)

// HTTPError is an LLM server's refusal, whatever its API (llm.HTTPError).
type HTTPError = llm.HTTPError

// Tool is a function the model may call, described by a JSON schema.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage // JSON schema of the arguments (an object)
}

// ToolCall is the model's call of a Tool.
type ToolCall struct {
	ID        string
	Name      string
	Arguments json.RawMessage // a JSON object
}

// Generation is a model's whole answer: text, tool calls, or both.
type Generation struct {
	Text      string
	ToolCalls []ToolCall
}

// backend is one host speaking one API (Ollama's native one, or
// OpenAI's). The Client spreads calls over several of one kind.
type backend interface {
	// generate streams one answer; emit (never nil) gets each piece of
	// text as it arrives. It returns ErrLLMIncomplete when the stream ends
	// without the server saying it is done.
	generate(ctx context.Context, msgs []api.Message, tools []Tool, emit func(string)) (Generation, error)
	// probe checks that the server answers and serves the model.
	probe(ctx context.Context) error
	// status is the start-up report of this host.
	status(ctx context.Context) Status
	// describe turns an error of this backend into a short reason.
	describe(err error) string
}

// tuning is what every backend's client shares.
type tuning struct {
	mode             string // "ollama" or "openai"
	model            string
	maxGenerations   int
	queueSize        int
	numPredict       int
	temperature      float64
	failureThreshold int
	recheck          time.Duration
	probeTimeout     time.Duration
	maxAnswerBytes   int
}

func (t *tuning) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&t.maxGenerations, 1)
	def(&t.numPredict, 512)
	def(&t.failureThreshold, 3)
	def(&t.maxAnswerBytes, 16<<10)
	if t.temperature == 0 {
		t.temperature = 0.2
	}
	if t.recheck <= 0 {
		t.recheck = 5 * time.Second
	}
	if t.probeTimeout <= 0 {
		t.probeTimeout = 3 * time.Second
	}
}

// Client is the chat LLM: generation through one or more hosts of one
// backend, each call on the healthy host with the fewest generations in
// flight (llm.Pool), with a bounded wait queue, a circuit breaker per host
// and a retry on another host for a generation that failed before its
// first token. NewOllama and NewOpenAI build one.
type Client struct {
	cfg      tuning
	backends []backend
	pool     *llm.Pool

	// calls counts Chat calls; failed the failed ones, indexed like
	// LLMFailureReasons. retries counts second attempts on another host.
	calls   atomic.Uint64
	retries atomic.Uint64
	failed  [len(LLMFailureReasons)]atomic.Uint64
}

func newClient(t tuning, urls []string, backends []backend) (*Client, error) {
	t.defaults()
	if t.model == "" {
		return nil, fmt.Errorf("%s: chat model name is empty", t.mode)
	}
	if t.queueSize <= 0 {
		t.queueSize = 4 * t.maxGenerations * len(backends)
	}
	c := &Client{cfg: t, backends: backends}
	pool, err := llm.New(llm.Config{
		URLs: urls, Limit: t.maxGenerations, QueueSize: t.queueSize,
		FailureThreshold: t.failureThreshold, RecheckInterval: t.recheck, ProbeTimeout: t.probeTimeout,
		Probe:    func(ctx context.Context, i int) error { return backends[i].probe(ctx) },
		Describe: backends[0].describe,
	})
	if err != nil {
		return nil, err
	}
	c.pool = pool
	return c, nil
}

// Model is the chat model's name.
func (c *Client) Model() string { return c.cfg.model }

// Mode is the backend: "ollama" or "openai".
func (c *Client) Mode() string { return c.cfg.mode }

// Ready reports whether some host's breaker is closed, i.e. whether a call
// is worth trying.
func (c *Client) Ready() bool { return c.pool.Ready() }

// LLMState is the client's state for /readyz and the admin panel.
type LLMState struct {
	Mode   string          `json:"mode"`  // "ollama", "openai" or "none"
	State  string          `json:"state"` // "ok", "down" or "disabled"
	Model  string          `json:"model,omitempty"`
	Reason string          `json:"reason,omitempty"`
	Since  time.Time       `json:"since,omitzero"`
	Queued int64           `json:"queued"`
	Hosts  []llm.HostStats `json:"hosts,omitempty"`
}

// State returns the overall state ("down" only when every host is) and
// each host's.
func (c *Client) State() LLMState {
	s := LLMState{Mode: c.cfg.mode, State: "ok", Model: c.cfg.model, Queued: int64(c.pool.Queued()), Hosts: c.pool.Stats()}
	if !c.pool.Ready() {
		s.State = "down"
		s.Reason, s.Since = c.pool.Reason()
	}
	return s
}

// Hosts returns each host's state and counters.
func (c *Client) Hosts() []llm.HostStats { return c.pool.Stats() }

// Start runs the background checker that probes open hosts every
// RecheckInterval. It is idempotent; Close stops it.
func (c *Client) Start() { c.pool.Start() }

// Close stops the background checker and waits for it (if started). It is
// idempotent.
func (c *Client) Close(ctx context.Context) error { return c.pool.Close(ctx) }

// recheck probes the open hosts once (the checker's step; tests call it).
func (c *Client) recheck() { c.pool.Recheck() }

// MarkDown opens every host's breaker, e.g. when the start-up probe found
// none; the background checker closes each when it appears.
func (c *Client) MarkDown(reason string) { c.pool.MarkDown(-1, reason) }

// MarkHostDown opens host i's breaker.
func (c *Client) MarkHostDown(i int, reason string) { c.pool.MarkDown(i, reason) }

// isDown tells failures that will not heal by retrying at once: nothing
// listens, the model is not there, the key is refused.
func isDown(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status == http.StatusNotFound || he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// describe turns an error into a short operator-facing reason; model
// names the model for a 404.
func describe(err error, model, pullHint string) string {
	var he *HTTPError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusNotFound:
		return fmt.Sprintf("model %q not found; %s", model, pullHint)
	case errors.As(err, &he) && (he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden):
		return he.Error()
	case errors.As(err, &he):
		return fmt.Sprintf("server answered HTTP %d", he.Status)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is the server running?)"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, ErrLLMIncomplete):
		return "stream dropped before the answer was complete"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "network error: " + ne.Error()
	}
	return "error: " + err.Error()
}

// LLMFailureReasons label the failed LLM calls in metrics, in this order:
// the breakers were open (down), the queue was full (busy), the deadline
// passed (timeout), the caller went away (canceled), the stream dropped
// (incomplete), the model said nothing (empty), the model is not there
// (model_not_found), the server answered another HTTP error (http_status),
// it could not be reached (connection), it asked us to slow down
// (rate_limited), it refused the API key (unauthorized), anything else
// (other).
var LLMFailureReasons = [...]string{
	"down", "busy", "timeout", "canceled", "incomplete", "empty", "model_not_found", "http_status", "connection",
	"rate_limited", "unauthorized", "other",
}

// LLMCounts are the Chat calls since start and the failed ones by reason
// (every reason of LLMFailureReasons is present); Retries are the calls
// tried a second time on another host.
type LLMCounts struct {
	Calls    uint64
	Retries  uint64
	Failures map[string]uint64
}

// Counts returns the call and failure counters.
func (c *Client) Counts() LLMCounts {
	out := LLMCounts{Calls: c.calls.Load(), Retries: c.retries.Load(), Failures: make(map[string]uint64, len(LLMFailureReasons))}
	for i, r := range LLMFailureReasons {
		out.Failures[r] = c.failed[i].Load()
	}
	return out
}

// failureIndex is the index in LLMFailureReasons of err's reason.
func failureIndex(err error) int {
	var he *HTTPError
	var ne net.Error
	reason := "other"
	switch {
	case errors.Is(err, ErrLLMDown):
		reason = "down"
	case errors.Is(err, ErrLLMBusy):
		reason = "busy"
	case errors.Is(err, context.DeadlineExceeded):
		reason = "timeout"
	case errors.Is(err, context.Canceled):
		reason = "canceled"
	case errors.Is(err, ErrLLMIncomplete):
		reason = "incomplete"
	case errors.Is(err, ErrLLMEmpty):
		reason = "empty"
	case errors.As(err, &he) && he.Status == http.StatusNotFound:
		reason = "model_not_found"
	case errors.As(err, &he) && he.Status == http.StatusTooManyRequests:
		reason = "rate_limited"
	case errors.As(err, &he) && (he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden):
		reason = "unauthorized"
	case errors.As(err, &he):
		reason = "http_status"
	case errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &ne):
		reason = "connection"
	}
	for i, r := range LLMFailureReasons {
		if r == reason {
			return i
		}
	}
	return len(LLMFailureReasons) - 1
}

// Chat generates one answer to msgs. It fails fast with ErrLLMDown while
// every breaker is open and with ErrLLMBusy when the queue is full; it
// waits for a slot no longer than ctx allows. Every call and every failure
// is counted (Counts).
func (c *Client) Chat(ctx context.Context, msgs []api.Message) (string, error) {
	g, err := c.ChatTools(ctx, msgs, nil, nil)
	return g.Text, err
}

// ChatStream is Chat that also hands emit each piece of the answer as the
// model writes it. A retry on another host happens only before the first
// piece, so emit never sees two answers.
func (c *Client) ChatStream(ctx context.Context, msgs []api.Message, emit func(string)) (string, error) {
	g, err := c.ChatTools(ctx, msgs, nil, emit)
	return g.Text, err
}

// ChatTools generates one answer that may call tools; the answer may then
// have no text. emit may be nil.
func (c *Client) ChatTools(ctx context.Context, msgs []api.Message, tools []Tool, emit func(string)) (g Generation, err error) {
	c.calls.Add(1)
	defer func() {
		if err != nil {
			c.failed[failureIndex(err)].Add(1)
		}
	}()
	if !c.pool.Ready() {
		return Generation{}, ErrLLMDown
	}
	exclude := -1
	var first error
	for {
		i, aerr := c.pool.Acquire(ctx, exclude)
		if aerr != nil {
			if first != nil && ctx.Err() == nil {
				return Generation{}, first // nowhere to retry: the original failure
			}
			return Generation{}, aerr
		}
		started := false
		t0 := time.Now()
		g, err = c.backends[i].generate(ctx, msgs, tools, func(s string) {
			started = true
			if emit != nil {
				emit(s)
			}
		})
		if err == nil && strings.TrimSpace(g.Text) == "" && (len(g.ToolCalls) == 0 || len(tools) == 0) {
			err = ErrLLMEmpty // a call of a tool nobody offered is no answer either
		}
		c.pool.Release(i, c.outcome(ctx, i, err, time.Since(t0)))
		if err == nil {
			return g, nil
		}
		// One retry elsewhere, while nothing reached the caller and the
		// failure was the host's, not the deadline's or the model's.
		if first != nil || started || ctx.Err() != nil || errors.Is(err, ErrLLMEmpty) || !c.pool.Healthy(i) {
			return Generation{}, err
		}
		c.retries.Add(1)
		first, exclude = err, i
	}
}

// outcome classifies a call's result for host i's breaker.
func (c *Client) outcome(ctx context.Context, i int, err error, d time.Duration) llm.Outcome {
	var he *HTTPError
	switch {
	case err == nil:
		return llm.Outcome{Latency: d}
	case errors.Is(err, context.Canceled) && ctx.Err() == context.Canceled:
		return llm.Outcome{Err: err, Ignore: true} // the caller went away; that says nothing about the host
	case errors.Is(err, ErrLLMEmpty):
		return llm.Outcome{Err: err, Ignore: true} // the host works; the model just said nothing
	case errors.As(err, &he) && he.Status == http.StatusTooManyRequests:
		ra := he.RetryAfter
		if ra <= 0 {
			ra = time.Second
		}
		return llm.Outcome{Err: err, RetryAfter: min(ra, 5*time.Minute)}
	}
	return llm.Outcome{Err: err, Down: isDown(err), Reason: c.backends[i].describe(err)}
}

// collect gathers a streamed answer: text up to maxBytes (the rest is
// dropped, the cap is ours, not a failure of the server) and tool calls.
type collect struct {
	b        strings.Builder
	maxBytes int
	full     bool
}

// add appends s if it fits and reports whether there was room.
func (c *collect) add(s string) bool {
	if c.full || c.b.Len()+len(s) > c.maxBytes {
		c.full = true
		return false
	}
	c.b.WriteString(s)
	return true
}

// Status is what the start-up report says about one host.
type Status struct {
	Mode              string // "ollama" or "openai"
	URL               string
	Reachable         bool
	Version           string
	Err               string // why it is not reachable
	ChatModel         string
	ChatModelPresent  bool
	EmbedModel        string
	EmbedModelPresent bool
}

// Missing returns the commands that fetch the models that are not there
// (none when the server is unreachable: that is a different problem, and
// none for an OpenAI-compatible server, whose models are its own affair).
func (s Status) Missing() []string {
	var cmds []string
	if !s.Reachable || s.Mode == "openai" {
		return nil
	}
	if s.ChatModel != "" && !s.ChatModelPresent {
		cmds = append(cmds, "ollama pull "+s.ChatModel)
	}
	if s.EmbedModel != "" && !s.EmbedModelPresent {
		cmds = append(cmds, "ollama pull "+s.EmbedModel)
	}
	return cmds
}

// Probe reports on the first host that answers (the first host when none
// does).
func (c *Client) Probe(ctx context.Context) Status {
	all := c.ProbeHosts(ctx)
	for _, s := range all {
		if s.Reachable {
			return s
		}
	}
	return all[0]
}

// ProbeHosts asks every host, concurrently, for its version and models.
func (c *Client) ProbeHosts(ctx context.Context) []Status {
	out := make([]Status, len(c.backends))
	done := make(chan struct{}, len(c.backends))
	for i, b := range c.backends {
		go func() {
			out[i] = b.status(ctx)
			done <- struct{}{}
		}()
	}
	for range c.backends {
		<-done
	}
	return out
}
