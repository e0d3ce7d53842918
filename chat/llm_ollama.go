package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
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

// OllamaURLs parses a list of OLLAMA_HOST values (the repeated
// --ollama-host flag, or OLLAMA_HOST with commas); none means the default
// host. Duplicates are refused: the same server twice would double its load.
func OllamaURLs(hosts []string) ([]*url.URL, error) {
	var out []*url.URL
	seen := map[string]bool{}
	for _, h := range hosts {
		for _, part := range strings.Split(h, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			u, err := OllamaURL(part)
			if err != nil {
				return nil, err
			}
			if seen[u.String()] {
				return nil, fmt.Errorf("ollama host %q is listed twice", u.String())
			}
			seen[u.String()] = true
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		u, _ := OllamaURL("")
		out = append(out, u)
	}
	return out, nil
}

// DefaultHTTPClient has a 3 s dial timeout and no overall timeout: every
// call carries the answer's deadline in its context.
func DefaultHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// OllamaConfig configures the Ollama chat client.
type OllamaConfig struct {
	BaseURL *url.URL // from OllamaURL; used when BaseURLs is empty
	// BaseURLs are several Ollama servers, each call going to the healthy
	// one with the fewest generations in flight.
	BaseURLs   []*url.URL
	ChatModel  string // e.g. llama3.2
	EmbedModel string // only checked for presence in Probe
	// HTTPClient defaults to DefaultHTTPClient().
	HTTPClient *http.Client
	// MaxGenerations bounds concurrent generations per host (default 1,
	// as OLLAMA_NUM_PARALLEL); QueueSize bounds the callers waiting for a
	// slot on any host (default 4×MaxGenerations×hosts). Past it Chat
	// fails at once with ErrLLMBusy.
	MaxGenerations int
	QueueSize      int
	// NumPredict caps the tokens generated per answer (default 512); it is
	// always sent, since a model may otherwise never stop.
	NumPredict  int
	Temperature float64 // default 0.2
	// FailureThreshold is how many consecutive failures open a host's
	// breaker (default 3). Refused connections and a missing model open it
	// at once.
	FailureThreshold int
	// RecheckInterval is how often a background check probes an open
	// breaker (default 5 s).
	RecheckInterval time.Duration
	// ProbeTimeout bounds one background probe (default 3 s).
	ProbeTimeout time.Duration
	// MaxAnswerBytes caps the collected answer (default 16 KB).
	MaxAnswerBytes int
}

// NewOllama returns a client of one or more Ollama servers; call Start to
// run the background checker and Close to stop it.
func NewOllama(cfg OllamaConfig) (*Client, error) {
	urls := cfg.BaseURLs
	if len(urls) == 0 {
		u := cfg.BaseURL
		if u == nil {
			var err error
			if u, err = OllamaURL(""); err != nil {
				return nil, err
			}
		}
		urls = []*url.URL{u}
	}
	if cfg.ChatModel == "" {
		return nil, errors.New("ollama: chat model name is empty")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = DefaultHTTPClient()
	}
	t := tuning{mode: "ollama", model: cfg.ChatModel, maxGenerations: cfg.MaxGenerations, queueSize: cfg.QueueSize,
		numPredict: cfg.NumPredict, temperature: cfg.Temperature, failureThreshold: cfg.FailureThreshold,
		recheck: cfg.RecheckInterval, probeTimeout: cfg.ProbeTimeout, maxAnswerBytes: cfg.MaxAnswerBytes}
	t.defaults()
	names := make([]string, len(urls))
	backends := make([]backend, len(urls))
	for i, u := range urls {
		names[i] = u.String()
		backends[i] = &ollamaBackend{t: t, base: u, embedModel: cfg.EmbedModel, client: api.NewClient(u, cfg.HTTPClient), hc: cfg.HTTPClient}
	}
	return newClient(t, names, backends)
}

// ollamaBackend is one Ollama server, through its native /api/chat.
type ollamaBackend struct {
	t          tuning
	base       *url.URL
	embedModel string
	client     *api.Client // probes and the start-up report
	hc         *http.Client
}

// ollamaError makes the api client's errors HTTPErrors.
func ollamaError(err error) error {
	var se api.StatusError
	if errors.As(err, &se) {
		return &HTTPError{Status: se.StatusCode, Message: se.ErrorMessage}
	}
	var ae api.AuthorizationError
	if errors.As(err, &ae) {
		return &HTTPError{Status: ae.StatusCode, Message: ae.Status}
	}
	return err
}

func (o *ollamaBackend) describe(err error) string {
	return describe(err, o.t.model, "run: ollama pull "+o.t.model)
}

func (o *ollamaBackend) probe(ctx context.Context) error {
	_, err := o.client.Show(ctx, &api.ShowRequest{Model: o.t.model})
	return ollamaError(err)
}

func (o *ollamaBackend) generate(ctx context.Context, msgs []api.Message, tools []Tool, emit func(string)) (Generation, error) {
	stream := true
	req := &api.ChatRequest{
		Model:    o.t.model,
		Messages: msgs,
		Stream:   &stream,
		Options: map[string]any{
			"num_predict": o.t.numPredict,
			"temperature": o.t.temperature,
		},
	}
	for _, tl := range tools {
		at, err := ollamaTool(tl)
		if err != nil {
			return Generation{}, err
		}
		req.Tools = append(req.Tools, at)
	}
	var g Generation
	col := collect{maxBytes: o.t.maxAnswerBytes}
	done := false
	errFull := errors.New("answer is long enough")
	err := o.chat(ctx, req, func(r chatLine) error {
		for _, tc := range r.Message.ToolCalls {
			args, _ := json.Marshal(tc.Function.Arguments.ToMap())
			g.ToolCalls = append(g.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: args})
		}
		if r.Message.Content != "" {
			if !col.add(r.Message.Content) {
				return errFull
			}
			emit(r.Message.Content)
		}
		done = done || r.Done
		return nil
	})
	switch {
	case errors.Is(err, errFull):
		// Keep what fits; the cap is ours, not a failure of Ollama.
	case err != nil:
		err = ollamaError(err)
		if col.b.Len() > 0 && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", ErrLLMIncomplete, err) // the connection dropped mid-stream
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return Generation{}, fmt.Errorf("ollama chat with %s at %s: %w", o.t.model, o.base, err)
	case !done:
		// The body ended before Ollama said it was done.
		return Generation{}, fmt.Errorf("ollama chat with %s at %s: %w", o.t.model, o.base, ErrLLMIncomplete)
	}
	g.Text = strings.TrimSpace(col.b.String())
	return g, nil
}

// chatLine is one line of /api/chat's NDJSON stream.
type chatLine struct {
	Message api.Message `json:"message"`
	Done    bool        `json:"done"`
	Error   string      `json:"error"`
}

// chat posts req to /api/chat and hands each streamed line to fn. It reads
// the stream itself rather than through api.Client.Chat, which allocates
// an 8 MB line buffer per call (8 MB of garbage per answer; 6-9 ms per
// call in BenchmarkClientOverhead, against 0.5-1 ms for the OpenAI
// backend).
func (o *ollamaBackend) chat(ctx context.Context, req *api.ChatRequest, fn func(chatLine) error) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode the chat request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, o.base.JoinPath("/api/chat").String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/x-ndjson")
	resp, err := o.hc.Do(hreq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= http.StatusBadRequest {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		return &HTTPError{Status: resp.StatusCode, Message: msg}
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var line chatLine
		if err := dec.Decode(&line); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read the stream: %w", err)
		}
		if line.Error != "" {
			return fmt.Errorf("ollama: %s", line.Error)
		}
		if err := fn(line); err != nil {
			return err
		}
	}
}

// ollamaTool is t in Ollama's form (the same JSON as OpenAI's).
func ollamaTool(t Tool) (api.Tool, error) {
	params := t.Parameters
	if len(params) == 0 {
		params = json.RawMessage(`{"type":"object","properties":{}}`)
	}
	b, err := json.Marshal(map[string]any{"type": "function", "function": map[string]any{
		"name": t.Name, "description": t.Description, "parameters": params}})
	if err != nil {
		return api.Tool{}, fmt.Errorf("tool %q: %w", t.Name, err)
	}
	var at api.Tool
	if err := json.Unmarshal(b, &at); err != nil {
		return api.Tool{}, fmt.Errorf("tool %q: parameters are not a JSON schema Ollama reads: %w", t.Name, err)
	}
	return at, nil
}

func (o *ollamaBackend) status(ctx context.Context) Status {
	st := Status{Mode: "ollama", URL: o.base.String(), ChatModel: o.t.model, EmbedModel: o.embedModel}
	list, err := o.client.List(ctx)
	if err != nil {
		st.Err = o.describe(ollamaError(err))
		return st
	}
	st.Reachable = true
	if v, err := o.client.Version(ctx); err == nil {
		st.Version = v
	}
	for _, m := range list.Models {
		st.ChatModelPresent = st.ChatModelPresent || sameModel(m, o.t.model)
		st.EmbedModelPresent = st.EmbedModelPresent || sameModel(m, o.embedModel)
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
