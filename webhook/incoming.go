package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// Answerer produces the reply to a user's message: the conversation
// engine (chat.Engine), or a fake in tests.
type Answerer interface {
	Answer(ctx context.Context, req chat.Request) (chat.Reply, error)
}

// Defaults of IncomingOptions.
const (
	DefaultMaxMessageBytes = 10 << 10
	DefaultRatePerMinute   = 100
	DefaultDedupeRetention = 7 * 24 * time.Hour
	// DefaultMaxConcurrent answers run at once. An answer's slot is held
	// while it waits for its commits (conversation memory, the reply) and,
	// with an LLM, for a generation slot, not only while it computes: with 8,
	// chatbot bench at 10,000 chunks was held at 228 req/s on 1.07 of 2 busy
	// cores; with 64 it reached 450 req/s with both cores busy. The LLM has
	// its own bounded queue (--max-generations) that falls back fast.
	DefaultMaxConcurrent  = 64
	DefaultAnswerTimeout  = 60 * time.Second
	authFailuresPerMinute = 20
	maxLimiterKeys        = 10000
	overloadRetryAfter    = 5
)

// IncomingOptions tune POST /api/webhook/incoming; zero values take the
// defaults.
type IncomingOptions struct {
	MaxMessageBytes int           // message text limit in bytes (413 past it)
	RatePerMinute   int           // requests per minute per integration (429 past it)
	DedupeRetention time.Duration // how long a platform message id is remembered
	MaxConcurrent   int           // answers produced at once
	MaxQueued       int           // answers waiting for a slot (default 8 × MaxConcurrent); past it 503
	AnswerTimeout   time.Duration // bound on one answer
	TrustedProxies  []netip.Prefix
	// AuthFailuresPerMinute per client IP before it gets 429 (default 20).
	AuthFailuresPerMinute int
	Now                   func() time.Time
}

func (o *IncomingOptions) defaults() {
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.RatePerMinute <= 0 {
		o.RatePerMinute = DefaultRatePerMinute
	}
	if o.DedupeRetention <= 0 {
		o.DedupeRetention = DefaultDedupeRetention
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 8 * o.MaxConcurrent
	}
	if o.AnswerTimeout <= 0 {
		o.AnswerTimeout = DefaultAnswerTimeout
	}
	if o.AuthFailuresPerMinute <= 0 {
		o.AuthFailuresPerMinute = authFailuresPerMinute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Incoming serves POST /api/webhook/incoming: authenticate, limit,
// validate, dedupe, store, answer, store the answer with its delivery.
// Async answers run in owned goroutines that Close waits for.
type Incoming struct {
	store    *store.Store
	answerer Answerer
	log      *slog.Logger
	opts     IncomingOptions

	platformRate *rateLimiter
	authFailures *httpapi.FailureThrottle
	replays      *replays
	gate         *gate
	counters     incomingCounters
	inflight     inflight

	mu       sync.Mutex // guards closed and bg.Add
	closed   bool
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// NewIncoming returns the incoming endpoint over st and answerer.
func NewIncoming(st *store.Store, answerer Answerer, log *slog.Logger, opts IncomingOptions) *Incoming {
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Incoming{
		store: st, answerer: answerer, log: log, opts: opts,
		platformRate: newRateLimiter(opts.RatePerMinute, maxLimiterKeys, opts.Now),
		authFailures: httpapi.NewFailureThrottle(opts.AuthFailuresPerMinute, opts.Now),
		replays:      newReplays(),
		gate:         newGate(opts.MaxConcurrent, opts.MaxQueued),
		inflight:     inflight{m: map[string]*claim{}},
		bgCtx:        ctx, bgCancel: cancel,
	}
}

// Stats returns the counters of accepted and refused requests.
func (in *Incoming) Stats() IncomingStats { return in.counters.snapshot() }

// Close stops taking async work and waits for the answers in progress
// until ctx ends; then it cancels them. It is safe to call twice.
func (in *Incoming) Close(ctx context.Context) error {
	in.mu.Lock()
	in.closed = true
	in.mu.Unlock()
	done := make(chan struct{})
	go func() { in.bg.Wait(); close(done) }()
	select {
	case <-done:
		in.bgCancel()
		return nil
	case <-ctx.Done():
		in.bgCancel()
		return errors.New("incoming webhooks: shutdown cancelled answers still in progress")
	}
}

type userInfo struct {
	UserID         string `json:"user_id"`
	Username       string `json:"username"`
	Platform       string `json:"platform"`
	ConversationID string `json:"conversation_id"`
}

type answerBody struct {
	Answer       string                `json:"answer"`
	ResponseType store.ResponseType    `json:"response_type"`
	Sources      []store.MessageSource `json:"sources"`
	UserInfo     userInfo              `json:"user_info"`
}

type incomingResponse struct {
	Success    bool        `json:"success"`
	Response   *answerBody `json:"response,omitempty"`
	MessageID  uint64      `json:"message_id"`
	ResponseID uint64      `json:"response_id,omitempty"`
	// Duplicate marks a platform retry answered from the stored result.
	Duplicate bool `json:"duplicate,omitempty"`
}

func (in *Incoming) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch apperr.CodeOf(err) {
	case apperr.TooLarge:
		in.counters.tooLarge.Add(1)
		in.log.WarnContext(r.Context(), "incoming webhook too large", "request_id", httpapi.RequestID(r.Context()), "err", err)
	case apperr.RateLimited:
		in.counters.rateLimited.Add(1)
		in.log.WarnContext(r.Context(), "incoming webhook rate limited", "request_id", httpapi.RequestID(r.Context()), "err", err)
	case apperr.Forbidden:
		in.counters.forbidden.Add(1)
	case apperr.Unavailable:
		in.counters.overloaded.Add(1)
	}
	httpapi.Error(w, r, in.log, err)
}

// ServeHTTP handles one incoming message.
func (in *Incoming) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cfg, ip, err := in.authenticate(r)
	if err != nil {
		in.fail(w, r, err)
		return
	}
	body, err := httpapi.ReadBody(w, r, int64(8*in.opts.MaxMessageBytes+16<<10))
	if err != nil {
		in.fail(w, r, err)
		return
	}
	if cfg.IncomingSecret != "" {
		if err := verifyIncoming(cfg.IncomingSecret, r.Header, body, in.opts.Now()); err != nil {
			if apperr.CodeOf(err) == apperr.Unauthorized {
				err = in.authFailed(r, ip, "bad signature", err)
			}
			in.fail(w, r, err)
			return
		}
		// A signed webhook-id is answered once; a replay gets that answer.
		e, first := in.replays.claim(cfg.ID, r.Header.Get("webhook-id"), in.opts.Now())
		if !first {
			in.answerReplay(w, r, cfg, e)
			return
		}
		rec := &firstResult{ResponseWriter: w}
		w = rec
		defer func() { in.replays.finish(e, rec.messageID()) }()
	}
	// Parsed, platform check included, before the integration's budget is
	// counted: only a request that passed authentication, the signature
	// and the platform check spends a token. Forged requests, a platform
	// mismatch (403) and invalid bodies (400, 413) leave the budget alone;
	// parsing a body that is already capped is cheap. The budget is the
	// integration's (config id), not the provider's: one Zendesk brand's
	// burst must not starve another's.
	msg, err := parseIncoming(body, cfg, in.opts.MaxMessageBytes)
	if err != nil {
		in.fail(w, r, err)
		return
	}
	if ok, wait := in.platformRate.take(strconv.FormatUint(cfg.ID, 10)); !ok {
		in.fail(w, r, &apperr.Error{Code: apperr.RateLimited, RetryAfterSeconds: wait,
			Message: "rate limit of " + strconv.Itoa(in.opts.RatePerMinute) + " requests per minute for integration " +
				strconv.FormatUint(cfg.ID, 10) + " (" + cfg.Provider + ") reached; retry later"})
		return
	}
	in.log.DebugContext(r.Context(), "incoming webhook accepted", "request_id", httpapi.RequestID(r.Context()),
		"config_id", cfg.ID, "platform", msg.Platform, "conversation_id", msg.ConversationID,
		"platform_message_id", msg.PlatformMessageID, "message_bytes", len(msg.Text))
	in.handle(w, r, cfg, msg)
}

// authenticate finds the config of the bearer token and checks that it
// may send from this address. The token is checked first: a valid one is
// never refused for other callers' failures. Failures count against the
// client IP (an IPv6 /64), not against any platform's budget.
func (in *Incoming) authenticate(r *http.Request) (*store.WebhookConfig, netip.Addr, error) {
	ip := clientIP(r, in.opts.TrustedProxies)
	token, err := httpapi.BearerToken(r)
	if err != nil {
		return nil, ip, in.authFailed(r, ip, "no bearer token", err)
	}
	cfg, err := in.store.ConfigByTokenHash(secret.Hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ip, in.authFailed(r, ip, "unknown token", apperr.New(apperr.Unauthorized, "invalid incoming token"))
	}
	if err != nil {
		return nil, ip, apperr.Wrap(apperr.Unavailable, err, "could not read the webhook configuration; try again")
	}
	if !cfg.IsActive {
		return nil, ip, apperr.New(apperr.Forbidden, "this integration is inactive; an admin can activate it")
	}
	if len(cfg.AllowedIPs) > 0 && !ipAllowed(ip, cfg.AllowedIPs) {
		in.log.WarnContext(r.Context(), "incoming webhook from an address not allowed", "config_id", cfg.ID, "client_ip", ip.String())
		return nil, ip, apperr.New(apperr.Forbidden, "requests from %s are not allowed for this integration", ip)
	}
	return cfg, ip, nil
}

// authFailed counts a failed authentication of ip and returns what to
// answer: err, or 429 once ip has failed too often this minute.
func (in *Incoming) authFailed(r *http.Request, ip netip.Addr, why string, err error) error {
	in.log.InfoContext(r.Context(), "incoming webhook authentication failed", "request_id", httpapi.RequestID(r.Context()),
		"client_ip", ip.String(), "reason", why)
	if limited := in.authFailures.Fail(ip); limited != nil {
		return limited // counted as rate limited by fail
	}
	in.counters.authFailures.Add(1)
	return err
}

// handle dedupes, stores and answers msg (sync) or schedules the answer (async).
func (in *Incoming) handle(w http.ResponseWriter, r *http.Request, cfg *store.WebhookConfig, msg *store.Message) {
	async := cfg.ResponseMode == store.ResponseAsync
	var c *claim
	if msg.PlatformMessageID != "" {
		key := inflightKey(msg)
		var owner bool
		if c, owner = in.inflight.claim(key); !owner {
			in.duplicateInFlight(w, r, c, msg, async)
			return
		}
		defer func() { in.inflight.release(c) }() // no-op once handed to the background
	}
	if !in.gate.enter() {
		in.fail(w, r, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: overloadRetryAfter,
			Message: "too many messages are being answered right now; retry later"})
		return
	}
	if async && !in.startBackground() {
		in.gate.leave()
		in.fail(w, r, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: overloadRetryAfter, Message: "the server is shutting down; retry later"})
		return
	}
	res, err := in.store.InsertIncoming(msg, in.opts.DedupeRetention)
	if err != nil {
		if async {
			in.bg.Done()
		}
		in.gate.leave()
		in.fail(w, r, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: overloadRetryAfter, Err: err,
			Message: "could not store the message; retry later"})
		return
	}
	if c != nil {
		c.setStored()
	}
	if res.Duplicate && handled(res.Message) {
		if async {
			in.bg.Done()
		}
		in.gate.leave()
		in.counters.duplicates.Add(1)
		in.writeStored(w, res, async)
		return
	}
	in.counters.accepted.Add(1)
	if async {
		owned := c
		c = nil // the background answer releases the claim
		go in.answerLater(cfg, res.Message, owned)
		httpapi.WriteJSON(w, http.StatusAccepted, incomingResponse{Success: true, MessageID: res.Message.ID, Duplicate: res.Duplicate})
		return
	}
	defer in.gate.leave()
	if err := in.gate.acquire(r.Context()); err != nil {
		in.fail(w, r, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: overloadRetryAfter, Message: "gave up waiting for an answer slot; retry later"})
		return
	}
	// The answer is finished and stored even if the platform hangs up (its
	// retry then gets it), but not past the timeout or Close.
	out, reply, err := in.answerNow(r.Context(), cfg, res.Message)
	if err != nil {
		in.fail(w, r, err)
		return
	}
	resp := incomingResponse{Success: true, MessageID: res.Message.ID, Duplicate: res.Duplicate,
		Response: &answerBody{Answer: reply.Answer, ResponseType: reply.Type, Sources: sourcesOf(reply.Sources), UserInfo: userOf(res.Message)}}
	if out != nil {
		resp.ResponseID = out.ID
	}
	httpapi.WriteJSON(w, http.StatusOK, resp)
}

// ResumeAsync starts, in the background, the answers of async messages
// that were accepted (202) but not answered before the last stop, at most
// as many as may wait for a slot. Unanswered messages of sync integrations
// are forgotten: their platform got an error and retries. Call it once,
// before serving.
func (in *Incoming) ResumeAsync() (int, error) {
	msgs, err := in.store.Unanswered(in.opts.MaxQueued)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range msgs {
		cfg, err := in.store.Config(m.ConfigID)
		if err != nil || cfg.ResponseMode != store.ResponseAsync || !cfg.IsActive {
			if err := in.store.ForgetUnanswered(m.ID); err != nil {
				return n, err
			}
			continue
		}
		var c *claim
		if m.PlatformMessageID != "" {
			var owner bool
			if c, owner = in.inflight.claim(inflightKey(m)); !owner {
				continue
			}
		}
		if !in.gate.enter() {
			in.inflight.release(c)
			break
		}
		if !in.startBackground() {
			in.gate.leave()
			in.inflight.release(c)
			break
		}
		go in.answerLater(cfg, m, c)
		n++
	}
	return n, nil
}

// startBackground registers one background answer unless Close began.
func (in *Incoming) startBackground() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return false
	}
	in.bg.Add(1)
	return true
}

// answerNow produces a sync answer in the slot the caller acquired and
// releases it, even if the engine panics.
func (in *Incoming) answerNow(rctx context.Context, cfg *store.WebhookConfig, msg *store.Message) (*store.Message, chat.Reply, error) {
	defer in.gate.release()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(rctx), in.opts.AnswerTimeout)
	defer cancel()
	defer context.AfterFunc(in.bgCtx, cancel)()
	return in.process(ctx, cfg, msg)
}

// answerLater produces an async answer; it goes out only through the
// outgoing queue.
func (in *Incoming) answerLater(cfg *store.WebhookConfig, msg *store.Message, c *claim) {
	defer in.bg.Done()
	defer in.gate.leave()
	defer in.inflight.release(c)
	defer func() {
		if p := recover(); p != nil {
			in.log.Error("async answer panicked", "message_id", msg.ID, "panic", p)
		}
	}()
	if err := in.gate.acquire(in.bgCtx); err != nil {
		in.log.Warn("async answer not produced: shutting down", "message_id", msg.ID)
		return
	}
	defer in.gate.release()
	ctx, cancel := context.WithTimeout(in.bgCtx, in.opts.AnswerTimeout)
	defer cancel()
	if _, _, err := in.process(ctx, cfg, msg); err != nil {
		in.log.Warn("async answer failed; a retry of the same message_id answers it", "message_id", msg.ID, "err", err)
	}
}

// process asks the engine and stores its reply. It returns the stored
// outgoing message, or nil when the reply needs none of ours (live chat).
func (in *Incoming) process(ctx context.Context, cfg *store.WebhookConfig, msg *store.Message) (*store.Message, chat.Reply, error) {
	start := in.opts.Now()
	reply, err := in.answerer.Answer(ctx, chat.Request{ConfigID: msg.ConfigID, Platform: msg.Platform, ConversationID: msg.ConversationID,
		UserID: msg.UserID, Username: msg.Username, Text: msg.Text, Handoff: msg.Handoff})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, reply, err
		}
		return nil, reply, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: overloadRetryAfter, Err: err,
			Message: "the answering engine failed; retry later"}
	}
	latency := in.opts.Now().Sub(start).Milliseconds()
	if reply.Type == chat.TypeLiveChatMessage || reply.Type == chat.TypeLiveChatTransfer {
		// The live-chat manager queued what the platform must see.
		if err := in.store.RecordHandled(msg.ID, reply.Type, reply.SessionID, latency); err != nil {
			return nil, reply, storeFailure(err)
		}
		return nil, reply, nil
	}
	out := &store.Message{Type: store.MessageOutgoing, ConfigID: cfg.ID, Platform: msg.Platform,
		ConversationID: msg.ConversationID, UserID: msg.UserID, Username: msg.Username, Text: reply.Answer,
		ResponseType: reply.Type, Sources: sourcesOf(reply.Sources), SessionID: reply.SessionID,
		Sender: "Assistant", SenderType: "bot", LatencyMS: latency}
	deliver := cfg.OutgoingURL != ""
	if err := in.store.InsertReply(msg.ID, out, deliver); err != nil {
		return nil, reply, storeFailure(err)
	}
	in.log.InfoContext(ctx, "incoming webhook answered", "config_id", cfg.ID, "message_id", msg.ID,
		"response_id", out.ID, "response_type", out.ResponseType, "latency_ms", latency, "delivery", out.Status)
	return out, reply, nil
}

func storeFailure(err error) error {
	return &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: overloadRetryAfter, Err: err,
		Message: "could not store the answer; retry later"}
}

// handled reports whether an incoming message has its reply recorded.
func handled(m *store.Message) bool { return m.ResponseID != 0 || m.ResponseType != "" }

// duplicateInFlight answers a retry that arrives while the first delivery
// of the same message is still being handled here: async at once with the
// stored id, sync after the first answer is stored.
func (in *Incoming) duplicateInFlight(w http.ResponseWriter, r *http.Request, c *claim, msg *store.Message, async bool) {
	wait := c.done
	if async {
		wait = c.stored
	}
	select {
	case <-wait:
	case <-r.Context().Done():
		return // the client is gone
	}
	res, err := in.store.IncomingByPlatformID(msg.Ref(), msg.PlatformMessageID, in.opts.DedupeRetention)
	if err != nil || (!async && !handled(res.Message)) {
		in.fail(w, r, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: 1,
			Message: "the first delivery of this message_id is still being processed or failed; retry later"})
		return
	}
	in.counters.duplicates.Add(1)
	in.writeStored(w, res, async)
}

// writeStored answers a duplicate with the first result.
func (in *Incoming) writeStored(w http.ResponseWriter, res store.IncomingResult, async bool) {
	if async {
		httpapi.WriteJSON(w, http.StatusAccepted, incomingResponse{Success: true, MessageID: res.Message.ID, Duplicate: true})
		return
	}
	body := &answerBody{ResponseType: res.Message.ResponseType, Sources: []store.MessageSource{}, UserInfo: userOf(res.Message)}
	resp := incomingResponse{Success: true, MessageID: res.Message.ID, Duplicate: true, Response: body}
	if res.Response != nil {
		resp.ResponseID = res.Response.ID
		body.Answer, body.ResponseType = res.Response.Text, res.Response.ResponseType
		body.Sources = sourcesOfStored(res.Response.Sources)
	}
	httpapi.WriteJSON(w, http.StatusOK, resp)
}

func userOf(m *store.Message) userInfo {
	return userInfo{UserID: m.UserID, Username: m.Username, Platform: m.Platform, ConversationID: m.ConversationID}
}

func sourcesOf(src []chat.Source) []store.MessageSource {
	out := make([]store.MessageSource, 0, len(src))
	for _, s := range src {
		out = append(out, store.MessageSource{Title: s.Title, Source: s.Source, Score: s.Score})
	}
	return out
}

func sourcesOfStored(src []store.MessageSource) []store.MessageSource {
	return append(make([]store.MessageSource, 0, len(src)), src...)
}

// inflightKey is the integration (config id) and the platform's message id,
// as the store dedupes: the same id through another integration is another
// message and must not wait for, or answer with, this one.
func inflightKey(m *store.Message) string {
	return strconv.FormatUint(m.ConfigID, 10) + "\x00" + m.PlatformMessageID
}

// inflight tracks platform message ids being handled in this process, so
// a retry that races the first delivery waits for it instead of answering
// again. Its size is bounded by the admitted answers.
type inflight struct {
	mu sync.Mutex
	m  map[string]*claim
}

type claim struct {
	key        string
	stored     chan struct{} // closed once the incoming message is stored (or on release)
	done       chan struct{} // closed on release
	storedOnce sync.Once
}

func (c *claim) setStored() {
	c.storedOnce.Do(func() { close(c.stored) })
}

// claim returns the claim of key and whether the caller now owns it.
func (f *inflight) claim(key string) (*claim, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.m[key]; ok {
		return c, false
	}
	c := &claim{key: key, stored: make(chan struct{}), done: make(chan struct{})}
	f.m[key] = c
	return c, true
}

// release ends the owner's claim; nil is a no-op.
func (f *inflight) release(c *claim) {
	if c == nil {
		return
	}
	f.mu.Lock()
	delete(f.m, c.key)
	f.mu.Unlock()
	c.storedOnce.Do(func() { close(c.stored) })
	close(c.done)
}
