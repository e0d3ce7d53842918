// Package llm spreads language-model calls over several hosts of one
// backend (Ollama servers, OpenAI-compatible servers): each call goes to
// the healthy host with the fewest calls in flight, a host that fails is
// taken out (its own circuit breaker) and probed in the background until it
// answers again, and every host's health, load, errors and latency are
// counted for /metrics and the admin panel.
//
// It is its own package because both the chat client (package chat) and
// the embedder (package embed) spread their calls this way, and neither
// should import the other. It knows nothing of any API: callers pass the
// outcome of each call.
package llm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

var (
	// ErrDown means no host is healthy: every breaker is open.
	ErrDown = errors.New("llm unavailable")
	// ErrBusy means every slot and queue place is taken, or every healthy
	// host asked us to slow down (HTTP 429).
	ErrBusy = errors.New("llm busy: generation queue full")
)

// Config configures a Pool.
type Config struct {
	// URLs name the hosts, in the order callers index them.
	URLs []string
	// Limit bounds the generations in flight per host (default 1);
	// QueueSize bounds the callers waiting for a slot on any host (default
	// 4 × Limit × hosts). Past it Acquire fails at once with ErrBusy.
	Limit     int
	QueueSize int
	// FailureThreshold consecutive failures open a host's breaker
	// (default 3); an Outcome with Down opens it at once.
	FailureThreshold int
	// RecheckInterval is how often the background checker probes open
	// hosts (default 5 s); ProbeTimeout bounds one probe (default 3 s).
	RecheckInterval time.Duration
	ProbeTimeout    time.Duration
	// Probe checks one host (index into URLs); nil means an open host
	// is tried again by a caller once RecheckInterval has passed, with no
	// background checker.
	Probe func(ctx context.Context, host int) error
	// Describe turns a probe error into the operator-facing reason.
	Describe func(error) string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Outcome is what became of one call on a host.
type Outcome struct {
	Err     error         // nil: it worked
	Ignore  bool          // says nothing about the host (the caller went away, the model said nothing)
	Down    bool          // open the breaker at once (refused connection, missing model)
	Reason  string        // for the breaker, when Err is set
	Latency time.Duration // of a successful call
	// RetryAfter > 0 (HTTP 429): the host is not given work for that long,
	// without counting as a failure.
	RetryAfter time.Duration
}

// host is one server's state, guarded by Pool.mu.
type host struct {
	url        string
	inFlight   int // generations (Acquire)
	other      int // other calls in flight (Pick), e.g. embeddings
	open       bool
	reason     string
	since      time.Time
	failures   int       // consecutive
	nextTry    time.Time // without a Probe: when an open host may be tried again
	limitedTil time.Time // HTTP 429 Retry-After
	calls      uint64
	errs       uint64
	latSum     time.Duration
	latN       uint64
}

// Pool is the set of hosts of one backend. Its methods are safe for
// concurrent use.
type Pool struct {
	cfg Config

	mu     sync.Mutex
	hosts  []*host
	queued int
	wake   chan struct{} // closed and replaced whenever a slot frees or a host changes

	stop      chan struct{}
	done      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once
}

// New returns a pool over cfg.URLs; call Start to run the background
// checker and Close to stop it.
func New(cfg Config) (*Pool, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("llm: no host configured")
	}
	if cfg.Limit <= 0 {
		cfg.Limit = 1
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 4 * cfg.Limit * len(cfg.URLs)
	}
	if cfg.FailureThreshold <= 0 {
		cfg.FailureThreshold = 3
	}
	if cfg.RecheckInterval <= 0 {
		cfg.RecheckInterval = 5 * time.Second
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = 3 * time.Second
	}
	if cfg.Describe == nil {
		cfg.Describe = func(err error) string { return err.Error() }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Pool{cfg: cfg, wake: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	for _, u := range cfg.URLs {
		p.hosts = append(p.hosts, &host{url: u})
	}
	return p, nil
}

// Len is the number of hosts.
func (p *Pool) Len() int { return len(p.hosts) }

// Limit is the per-host generation limit.
func (p *Pool) Limit() int { return p.cfg.Limit }

// broadcast wakes every waiter; called with mu held.
func (p *Pool) broadcast() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// usable reports whether h may be given work now; called with mu held.
func (p *Pool) usable(h *host, now time.Time) bool {
	if h.open && (p.cfg.Probe != nil || now.Before(h.nextTry)) {
		return false
	}
	return !now.Before(h.limitedTil)
}

// Ready reports whether some host is worth trying (its breaker closed, or
// without a background checker due for another try).
func (p *Pool) Ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	for _, h := range p.hosts {
		if !h.open || (p.cfg.Probe == nil && !now.Before(h.nextTry)) {
			return true
		}
	}
	return false
}

// Healthy reports whether some host other than except (-1: none) has its
// breaker closed: whether a retry elsewhere is worth it.
func (p *Pool) Healthy(except int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	for i, h := range p.hosts {
		if i != except && p.usable(h, now) {
			return true
		}
	}
	return false
}

// Queued is the number of callers waiting for a slot.
func (p *Pool) Queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queued
}

// Acquire waits for a generation slot on the usable host with the fewest
// generations in flight, other than exclude (-1: any), and returns its
// index; Release gives it back. It fails at once with ErrDown when no host
// is usable and with ErrBusy when the queue is full, and waits no longer
// than ctx allows.
func (p *Pool) Acquire(ctx context.Context, exclude int) (int, error) {
	p.mu.Lock()
	waiting := false
	defer func() {
		if waiting {
			p.queued--
		}
		p.mu.Unlock()
	}()
	for {
		now := p.cfg.Now()
		best, alive, limited := -1, false, false
		for i, h := range p.hosts {
			if i == exclude {
				continue
			}
			if !p.usable(h, now) {
				limited = limited || (!h.open && now.Before(h.limitedTil))
				continue
			}
			alive = true
			if h.inFlight < p.cfg.Limit && (best < 0 || h.inFlight < p.hosts[best].inFlight) {
				best = i
			}
		}
		switch {
		case best >= 0:
			p.hosts[best].inFlight++
			p.hosts[best].calls++
			return best, nil
		case !alive && limited:
			return -1, ErrBusy
		case !alive:
			return -1, ErrDown
		}
		if !waiting {
			if p.queued >= p.cfg.QueueSize {
				return -1, ErrBusy
			}
			p.queued++
			waiting = true
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
			p.mu.Lock()
		case <-ctx.Done():
			p.mu.Lock()
			return -1, fmt.Errorf("wait for a generation slot: %w", ctx.Err())
		}
	}
}

// Release gives back host i's slot taken by Acquire and records the call's
// outcome.
func (p *Pool) Release(i int, o Outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hosts[i].inFlight--
	p.record(p.hosts[i], o)
	p.broadcast()
}

// Pick chooses the usable host with the fewest calls of any kind in
// flight, other than exclude, for a call that takes no generation slot
// (embeddings); Done records it.
func (p *Pool) Pick(exclude int) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	best, limited := -1, false
	for i, h := range p.hosts {
		if i == exclude {
			continue
		}
		if !p.usable(h, now) {
			limited = limited || (!h.open && now.Before(h.limitedTil))
			continue
		}
		if best < 0 || h.inFlight+h.other < p.hosts[best].inFlight+p.hosts[best].other {
			best = i
		}
	}
	if best < 0 {
		if limited {
			return -1, ErrBusy
		}
		return -1, ErrDown
	}
	p.hosts[best].other++
	p.hosts[best].calls++
	return best, nil
}

// Done records the outcome of a call started with Pick.
func (p *Pool) Done(i int, o Outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hosts[i].other--
	p.record(p.hosts[i], o)
	p.broadcast()
}

// record updates h's breaker and counters; called with mu held.
func (p *Pool) record(h *host, o Outcome) {
	now := p.cfg.Now()
	if o.RetryAfter > 0 {
		h.limitedTil = now.Add(o.RetryAfter)
	}
	switch {
	case o.Err == nil:
		h.failures = 0
		h.latSum += o.Latency
		h.latN++
		if h.open { // a lazily re-tried host (no Probe) worked
			h.open, h.reason = false, ""
		}
	case o.Ignore || o.RetryAfter > 0:
	default:
		h.errs++
		h.failures++
		if h.failures >= p.cfg.FailureThreshold || o.Down || (h.open && p.cfg.Probe == nil) {
			p.trip(h, o.Reason)
		}
	}
}

// trip opens h's breaker; called with mu held.
func (p *Pool) trip(h *host, reason string) {
	now := p.cfg.Now()
	if !h.open {
		h.open, h.since = true, now
	}
	h.reason = reason
	h.nextTry = now.Add(p.cfg.RecheckInterval)
}

// MarkDown opens the breaker of host i (every host when i < 0), e.g. when
// the start-up probe found nothing there.
func (p *Pool) MarkDown(i int, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for j, h := range p.hosts {
		if i < 0 || i == j {
			p.trip(h, reason)
		}
	}
	p.broadcast()
}

// Start runs the background checker (when Config.Probe is set), which
// probes open hosts every RecheckInterval; not at once, since a host that
// answers probes but hangs on generation would otherwise cost users a
// timeout each. It is idempotent; Close stops it.
func (p *Pool) Start() {
	if p.cfg.Probe == nil {
		return
	}
	p.startOnce.Do(func() { go p.checker() })
}

// Close stops the background checker and waits for it (if started). It is
// idempotent.
func (p *Pool) Close(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.stop) })
	started := true
	p.startOnce.Do(func() { started = false; close(p.done) })
	if !started {
		return nil
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop llm host checker: %w", ctx.Err())
	}
}

func (p *Pool) checker() {
	defer close(p.done)
	t := time.NewTicker(p.cfg.RecheckInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.Recheck()
	}
}

// Recheck probes every open host once, concurrently, and closes the
// breaker of each that answers. The checker calls it; tests may too.
func (p *Pool) Recheck() {
	if p.cfg.Probe == nil {
		return
	}
	var wg sync.WaitGroup
	for i := range p.hosts {
		p.mu.Lock()
		open := p.hosts[i].open
		p.mu.Unlock()
		if !open {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.recheck(i)
		}()
	}
	wg.Wait()
}

// recheck probes host i. It recovers a panic so a bad response never
// kills the checker.
func (p *Pool) recheck(i int) {
	defer func() { _ = recover() }()
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ProbeTimeout)
	defer cancel()
	go func() { // a Close does not wait for a slow probe
		select {
		case <-p.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := p.cfg.Probe(ctx, i)
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.hosts[i]
	if err != nil {
		h.reason = p.cfg.Describe(err)
		return
	}
	h.open, h.reason = false, ""
	// Half-open: the first failure after a recovery opens it again, so a
	// server that answers probes but cannot generate costs one timeout.
	h.failures = p.cfg.FailureThreshold - 1
	p.broadcast()
}

// HostStats is one host's state and counters since start.
type HostStats struct {
	URL      string    `json:"url"`
	State    string    `json:"state"` // "ok", "down" or "limited" (HTTP 429)
	Reason   string    `json:"reason,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	InFlight int       `json:"in_flight"` // generations and other calls
	Limit    int       `json:"limit"`     // generations at once
	Calls    uint64    `json:"calls"`
	Errors   uint64    `json:"errors"`
	// LatencySeconds is the summed latency of LatencyCount successful
	// calls; MeanLatencyMS their mean, for people.
	LatencySeconds float64 `json:"latency_seconds"`
	LatencyCount   uint64  `json:"latency_count"`
	MeanLatencyMS  float64 `json:"mean_latency_ms"`
}

// Stats returns every host's state, in configuration order.
func (p *Pool) Stats() []HostStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	out := make([]HostStats, 0, len(p.hosts))
	for _, h := range p.hosts {
		s := HostStats{URL: h.url, State: "ok", InFlight: h.inFlight + h.other, Limit: p.cfg.Limit,
			Calls: h.calls, Errors: h.errs, LatencySeconds: h.latSum.Seconds(), LatencyCount: h.latN}
		switch {
		case h.open:
			s.State, s.Reason, s.Since = "down", h.reason, h.since
		case now.Before(h.limitedTil):
			s.State = "limited"
		}
		if h.latN > 0 {
			s.MeanLatencyMS = float64(h.latSum.Microseconds()) / 1000 / float64(h.latN)
		}
		out = append(out, s)
	}
	return out
}

// Reason is why the pool is not ready: the reason of the first open host.
func (p *Pool) Reason() (string, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.hosts {
		if h.open {
			return h.reason, h.since
		}
	}
	return "", time.Time{}
}
