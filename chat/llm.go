package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ollama/ollama/api"
)

// Errors of the LLM client. The engine answers extractively on any of them;
// the reason ends up in Reply.Fallback.
var (
	// ErrLLMDown means the circuit breaker is open: recent calls failed and
	// a background check has not yet seen Ollama come back.
	ErrLLMDown = errors.New("llm unavailable")
	// ErrLLMBusy means every generation slot and queue place is taken.
	ErrLLMBusy = errors.New("llm busy: generation queue full")
	// ErrLLMIncomplete means the stream ended before Ollama said it was done.
	ErrLLMIncomplete = errors.New("llm stream ended before the answer was complete")
	// ErrLLMEmpty means the model produced only whitespace.
	ErrLLMEmpty = errors.New("llm returned an empty answer")
)

// DefaultOllamaHost is where Ollama listens when OLLAMA_HOST is unset.
const DefaultOllamaHost = "http://127.0.0.1:11434"

// OllamaURL parses an OLLAMA_HOST value the way the ollama CLI does:
// "host", "host:port", "scheme://host[:port][/path]"; empty means
// DefaultOllamaHost. Without a scheme the port defaults to 11434.
func OllamaURL(host string) (*url.URL, error) {
	s := strings.TrimSpace(host)
	if s == "" {
		s = DefaultOllamaHost
	}
	scheme, hostport, ok := strings.Cut(s, "://")
	defaultPort := "11434"
	switch {
	case !ok:
		scheme, hostport = "http", s
	case scheme == "http":
		defaultPort = "80"
	case scheme == "https":
		defaultPort = "443"
	default:
		return nil, fmt.Errorf("ollama host %q: scheme must be http or https", host)
	}
	hostport, path, _ := strings.Cut(hostport, "/")
	h, port, err := net.SplitHostPort(hostport)
	if err != nil {
		h, port = strings.Trim(hostport, "[]"), defaultPort
	}
	if h == "" || h == "0.0.0.0" || h == "::" {
		h = "127.0.0.1" // a listen-on-all address is reached on loopback
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return nil, fmt.Errorf("ollama host %q: bad port %q", host, port)
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(h, port)}
	if path != "" {
		u.Path = "/" + path
	}
	return u, nil
}

// OllamaConfig configures the Ollama chat client.
type OllamaConfig struct {
	BaseURL    *url.URL // from OllamaURL
	ChatModel  string   // e.g. llama3.2
	EmbedModel string   // only checked for presence in Probe
	// HTTPClient defaults to one with a 3 s dial timeout and no overall
	// timeout: every call carries the answer's deadline in its context.
	HTTPClient *http.Client
	// MaxGenerations bounds concurrent generations (default 1); QueueSize
	// bounds the callers waiting for a slot (default 4×MaxGenerations).
	// Past it Chat fails at once with ErrLLMBusy.
	MaxGenerations int
	QueueSize      int
	// NumPredict caps the tokens generated per answer (default 512); it is
	// always sent, since a model may otherwise never stop.
	NumPredict  int
	Temperature float64 // default 0.2
	// FailureThreshold is how many consecutive failures open the breaker
	// (default 3). Refused connections and a missing model open it at once.
	FailureThreshold int
	// RecheckInterval is how often a background check probes an open
	// breaker (default 5 s).
	RecheckInterval time.Duration
	// ProbeTimeout bounds one background probe (default 3 s).
	ProbeTimeout time.Duration
	// MaxAnswerBytes caps the collected answer (default 16 KB).
	MaxAnswerBytes int
}

// Ollama is the chat LLM: generation through Ollama's /api/chat with a
// bounded number of concurrent generations, a wait queue, and a circuit
// breaker that stops sending work to an Ollama that is down and probes it
// in the background until it returns.
type Ollama struct {
	cfg    OllamaConfig
	client *api.Client
	slots  chan struct{}
	queued atomic.Int64

	// calls counts Chat calls; failed the failed ones, indexed like
	// LLMFailureReasons.
	calls  atomic.Uint64
	failed [len(LLMFailureReasons)]atomic.Uint64

	mu       sync.Mutex
	open     bool   // breaker state
	reason   string // why it is open, for /readyz
	since    time.Time
	failures int // consecutive

	stop      chan struct{}
	done      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once
}

// NewOllama returns a client; call Start to run the background checker and
// Close to stop it.
func NewOllama(cfg OllamaConfig) (*Ollama, error) {
	if cfg.BaseURL == nil {
		u, err := OllamaURL("")
		if err != nil {
			return nil, err
		}
		cfg.BaseURL = u
	}
	if cfg.ChatModel == "" {
		return nil, errors.New("ollama: chat model name is empty")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.MaxGenerations, 1)
	def(&cfg.QueueSize, 4*cfg.MaxGenerations)
	def(&cfg.NumPredict, 512)
	def(&cfg.FailureThreshold, 3)
	def(&cfg.MaxAnswerBytes, 16<<10)
	if cfg.Temperature == 0 {
		cfg.Temperature = 0.2
	}
	if cfg.RecheckInterval <= 0 {
		cfg.RecheckInterval = 5 * time.Second
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = 3 * time.Second
	}
	return &Ollama{
		cfg:    cfg,
		client: api.NewClient(cfg.BaseURL, cfg.HTTPClient),
		slots:  make(chan struct{}, cfg.MaxGenerations),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}, nil
}

// Model is the chat model's name.
func (o *Ollama) Model() string { return o.cfg.ChatModel }

// Ready reports whether the breaker is closed, i.e. whether a call is
// worth trying.
func (o *Ollama) Ready() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.open
}

// LLMState is the breaker's state for /readyz.
type LLMState struct {
	Mode   string    `json:"mode"`  // "ollama" or "none"
	State  string    `json:"state"` // "ok", "down" or "disabled"
	Model  string    `json:"model,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Queued int64     `json:"queued"`
}

// State returns the breaker's state.
func (o *Ollama) State() LLMState {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := LLMState{Mode: "ollama", State: "ok", Model: o.cfg.ChatModel, Queued: o.queued.Load()}
	if o.open {
		s.State, s.Reason, s.Since = "down", o.reason, o.since
	}
	return s
}

// Start runs the background checker that probes an open breaker every
// RecheckInterval (not at once: an Ollama that answers probes but hangs on
// generation would otherwise cost users a timeout each). It is idempotent;
// Close stops it.
func (o *Ollama) Start() {
	o.startOnce.Do(func() { go o.checker() })
}

// Close stops the background checker and waits for it (if started). It is
// idempotent.
func (o *Ollama) Close(ctx context.Context) error {
	o.stopOnce.Do(func() { close(o.stop) })
	// Claim the start: if Start never ran, a later Start is now a no-op
	// and there is nothing to wait for.
	started := true
	o.startOnce.Do(func() { started = false; close(o.done) })
	if !started {
		return nil
	}
	select {
	case <-o.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop ollama checker: %w", ctx.Err())
	}
}

func (o *Ollama) checker() {
	defer close(o.done)
	t := time.NewTicker(o.cfg.RecheckInterval)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
		}
		if o.Ready() {
			continue
		}
		o.recheck()
	}
}

// recheck probes once and closes the breaker when Ollama answers and has
// the model. It recovers a panic so a bad response never kills the checker.
func (o *Ollama) recheck() {
	defer func() { _ = recover() }()
	ctx, cancel := context.WithTimeout(context.Background(), o.cfg.ProbeTimeout)
	defer cancel()
	go func() { // a Close does not wait for a slow probe
		select {
		case <-o.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if _, err := o.client.Show(ctx, &api.ShowRequest{Model: o.cfg.ChatModel}); err != nil {
		o.mu.Lock()
		o.reason = describe(err, o.cfg.ChatModel)
		o.mu.Unlock()
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.open, o.reason = false, ""
	// Half-open: the first failure after a recovery opens it again, so
	// a server that answers probes but cannot generate costs one timeout.
	o.failures = o.cfg.FailureThreshold - 1
}

// MarkDown opens the breaker, e.g. when the start-up probe found no
// Ollama; the background checker closes it when Ollama appears.
func (o *Ollama) MarkDown(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.trip(reason)
}

func (o *Ollama) trip(reason string) {
	if !o.open {
		o.open, o.since = true, time.Now()
	}
	o.reason = reason
}

func (o *Ollama) record(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err == nil {
		o.failures = 0
		return
	}
	o.failures++
	if o.failures >= o.cfg.FailureThreshold || isDown(err) {
		o.trip(describe(err, o.cfg.ChatModel))
	}
}

// isDown tells failures that will not heal by retrying at once: nothing
// listens, or the model is not there.
func isDown(err error) bool {
	var se api.StatusError
	if errors.As(err, &se) && se.StatusCode == http.StatusNotFound {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// describe turns an Ollama error into a short operator-facing reason.
func describe(err error, model string) string {
	var se api.StatusError
	switch {
	case errors.As(err, &se) && se.StatusCode == http.StatusNotFound:
		return fmt.Sprintf("model %q not found; run: ollama pull %s", model, model)
	case errors.As(err, &se):
		return fmt.Sprintf("ollama answered HTTP %d", se.StatusCode)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is ollama serve running?)"
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
// the breaker was open (down), the queue was full (busy), the deadline
// passed (timeout), the caller went away (canceled), the stream dropped
// (incomplete), the model said nothing (empty), the model is not pulled
// (model_not_found), Ollama answered another HTTP error (http_status), it
// could not be reached (connection), anything else (other).
var LLMFailureReasons = [...]string{
	"down", "busy", "timeout", "canceled", "incomplete", "empty", "model_not_found", "http_status", "connection", "other",
}

// LLMCounts are the Chat calls since start and the failed ones by reason
// (every reason of LLMFailureReasons is present).
type LLMCounts struct {
	Calls    uint64
	Failures map[string]uint64
}

// Counts returns the call and failure counters.
func (o *Ollama) Counts() LLMCounts {
	c := LLMCounts{Calls: o.calls.Load(), Failures: make(map[string]uint64, len(LLMFailureReasons))}
	for i, r := range LLMFailureReasons {
		c.Failures[r] = o.failed[i].Load()
	}
	return c
}

// failureIndex is the index in LLMFailureReasons of err's reason.
func failureIndex(err error) int {
	var se api.StatusError
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
	case errors.As(err, &se) && se.StatusCode == http.StatusNotFound:
		reason = "model_not_found"
	case errors.As(err, &se):
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
// the breaker is open and with ErrLLMBusy when the queue is full; it waits
// for a slot no longer than ctx allows. Every call and every failure is
// counted (Counts).
func (o *Ollama) Chat(ctx context.Context, msgs []api.Message) (text string, err error) {
	o.calls.Add(1)
	defer func() {
		if err != nil {
			o.failed[failureIndex(err)].Add(1)
		}
	}()
	if !o.Ready() {
		return "", ErrLLMDown
	}
	if err := o.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-o.slots }()
	if !o.Ready() { // it may have opened while we queued
		return "", ErrLLMDown
	}
	text, err = o.generate(ctx, msgs)
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() == context.Canceled:
		// The caller went away; that says nothing about Ollama.
	case errors.Is(err, ErrLLMEmpty):
		o.record(nil) // Ollama works; the model just said nothing
	default:
		o.record(err)
	}
	return text, err
}

func (o *Ollama) acquire(ctx context.Context) error {
	select {
	case o.slots <- struct{}{}:
		return nil
	default:
	}
	if o.queued.Add(1) > int64(o.cfg.QueueSize) {
		o.queued.Add(-1)
		return ErrLLMBusy
	}
	defer o.queued.Add(-1)
	select {
	case o.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for a generation slot: %w", ctx.Err())
	}
}

func (o *Ollama) generate(ctx context.Context, msgs []api.Message) (string, error) {
	stream := true
	req := &api.ChatRequest{
		Model:    o.cfg.ChatModel,
		Messages: msgs,
		Stream:   &stream,
		Options: map[string]any{
			"num_predict": o.cfg.NumPredict,
			"temperature": o.cfg.Temperature,
		},
	}
	var b strings.Builder
	done := false
	errFull := errors.New("answer is long enough")
	err := o.client.Chat(ctx, req, func(r api.ChatResponse) error {
		if b.Len()+len(r.Message.Content) > o.cfg.MaxAnswerBytes {
			return errFull
		}
		b.WriteString(r.Message.Content)
		done = done || r.Done
		return nil
	})
	switch {
	case errors.Is(err, errFull):
		// Keep what fits; the cap is ours, not a failure of Ollama.
	case err != nil:
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return "", fmt.Errorf("ollama chat with %s: %w", o.cfg.ChatModel, err)
	case !done:
		// The api client ends quietly when the connection drops mid-stream.
		return "", fmt.Errorf("ollama chat with %s: %w", o.cfg.ChatModel, ErrLLMIncomplete)
	}
	text := strings.TrimSpace(b.String())
	if text == "" {
		return "", ErrLLMEmpty
	}
	return text, nil
}

// Status is what the start-up report says about Ollama.
type Status struct {
	URL               string
	Reachable         bool
	Version           string
	Err               string // why it is not reachable
	ChatModel         string
	ChatModelPresent  bool
	EmbedModel        string
	EmbedModelPresent bool
}

// Missing returns the `ollama pull` commands for the models that are not
// there (none when Ollama is unreachable: that is a different problem).
func (s Status) Missing() []string {
	var cmds []string
	if !s.Reachable {
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

// Probe asks Ollama for its version and model list.
func (o *Ollama) Probe(ctx context.Context) Status {
	st := Status{URL: o.cfg.BaseURL.String(), ChatModel: o.cfg.ChatModel, EmbedModel: o.cfg.EmbedModel}
	list, err := o.client.List(ctx)
	if err != nil {
		st.Err = describe(err, o.cfg.ChatModel)
		return st
	}
	st.Reachable = true
	if v, err := o.client.Version(ctx); err == nil {
		st.Version = v
	}
	for _, m := range list.Models {
		st.ChatModelPresent = st.ChatModelPresent || sameModel(m, o.cfg.ChatModel)
		st.EmbedModelPresent = st.EmbedModelPresent || sameModel(m, o.cfg.EmbedModel)
	}
	return st
}

// sameModel matches "llama3.2" to "llama3.2:latest" as Ollama does.
func sameModel(m api.ListModelResponse, name string) bool {
	if name == "" {
		return false
	}
	if !strings.Contains(name, ":") {
		name += ":latest"
	}
	return m.Name == name || m.Model == name
}
