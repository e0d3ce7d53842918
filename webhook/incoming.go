package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// Defaults of IncomingOptions.
const (
	DefaultMaxMessageBytes = 10 << 10
	DefaultRatePerMinute   = 100
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

// Incoming serves POST /api/webhook/incoming, the seed-format channel:
// authenticate, verify the signature, parse, limit, then the turn
// (conversation.Service) and the response. Async answers run in owned
// goroutines that Close waits for.
type Incoming struct {
	store *store.Store // integrations (tokens, settings) and the unanswered list
	turns *conversation.Service
	log   *slog.Logger
	opts  IncomingOptions

	platformRate *rateLimiter
	authFailures *httpapi.FailureThrottle
	replays      *replays
	gate         *gate
	counters     incomingCounters

	mu       sync.Mutex // guards closed and bg.Add
	closed   bool
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// NewIncoming returns the incoming endpoint: integrations from st, turns
// through turns.
func NewIncoming(st *store.Store, turns *conversation.Service, log *slog.Logger, opts IncomingOptions) *Incoming {
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Incoming{
		store: st, turns: turns, log: log, opts: opts,
		platformRate: newRateLimiter(opts.RatePerMinute, maxLimiterKeys, opts.Now),
		authFailures: httpapi.NewFailureThrottle(opts.AuthFailuresPerMinute, opts.Now),
		replays:      newReplays(),
		gate:         newGate(opts.MaxConcurrent, opts.MaxQueued),
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
	// Handed are the live-chat messages (agent replies, notices) that
	// waited for this message because the integration has no outgoing
	// URL, oldest first, each given once (a retry gets them again).
	Handed []handedMessage `json:"live_chat_messages,omitempty"`
}

// handedMessage is a held live-chat message handed over in a response.
type handedMessage struct {
	ID           uint64             `json:"id"`
	Text         string             `json:"message"`
	Sender       string             `json:"sender"`
	SenderType   string             `json:"sender_type"`
	ResponseType store.ResponseType `json:"response_type"`
	SessionID    string             `json:"session_id,omitempty"`
	CreatedAt    time.Time          `json:"created_at"`
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
	ip := httpapi.ClientIP(r, in.opts.TrustedProxies)
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

// handle runs the turn of in: sync, the answer in the response; async,
// 202 once the message is stored, the answer later through the outgoing
// URL. The gate bounds the answers admitted and running at once.
func (in *Incoming) handle(w http.ResponseWriter, r *http.Request, cfg *store.WebhookConfig, msg conversation.Inbound) {
	async := msg.Mode == store.ResponseAsync
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
	// Async stores the message before its 202; sync stores it with its
	// answer, one commit (a crash before it loses a message the platform
	// got no success for, and sends again).
	accept := in.turns.Receive
	if async {
		accept = in.turns.Accept
	}
	a, err := accept(r.Context(), msg)
	if err != nil || a.Answered() || (async && a.Duplicate) {
		if async {
			in.bg.Done()
		}
		in.gate.leave()
		switch {
		case err != nil:
			in.fail(w, r, err)
		case async:
			in.turns.Release(a)
			in.counters.duplicates.Add(1)
			httpapi.WriteJSON(w, http.StatusAccepted, incomingResponse{Success: true, MessageID: a.Message.ID, Duplicate: true})
		default:
			in.writeDuplicate(w, r, a)
		}
		return
	}
	in.counters.accepted.Add(1)
	if async {
		go in.answerLater(a)
		httpapi.WriteJSON(w, http.StatusAccepted, incomingResponse{Success: true, MessageID: a.Message.ID})
		return
	}
	defer in.gate.leave()
	if err := in.gate.acquire(r.Context()); err != nil {
		in.turns.Release(a)
		in.fail(w, r, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: overloadRetryAfter, Message: "gave up waiting for an answer slot; retry later"})
		return
	}
	// The answer is finished and stored even if the platform hangs up (its
	// retry then gets it), but not past the timeout or Close.
	out, err := in.answerNow(r.Context(), a)
	if err != nil {
		in.fail(w, r, err)
		return
	}
	setServerTiming(w, out)
	httpapi.WriteJSON(w, http.StatusOK, responseOf(out))
}

// setServerTiming says how long answering took, to the microsecond, in a
// standard Server-Timing header (latency_ms is whole milliseconds): what
// the service adds around the answer is measured from it (chatbot bench).
// A retry answered from the store took no answering and gets none.
func setServerTiming(w http.ResponseWriter, out conversation.Outcome) {
	if out.Duplicate || out.Answer.Total <= 0 {
		return
	}
	w.Header().Set("Server-Timing", fmt.Sprintf("answer;dur=%.3f", float64(out.Answer.Total.Microseconds())/1000))
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
		a, ok := in.turns.Resume(m, cfg.OutgoingURL != "")
		if !ok {
			continue
		}
		if !in.gate.enter() {
			in.turns.Release(a)
			break
		}
		if !in.startBackground() {
			in.gate.leave()
			in.turns.Release(a)
			break
		}
		go in.answerLater(a)
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
func (in *Incoming) answerNow(rctx context.Context, a *conversation.Accepted) (conversation.Outcome, error) {
	defer in.gate.release()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(rctx), in.opts.AnswerTimeout)
	defer cancel()
	defer context.AfterFunc(in.bgCtx, cancel)()
	return in.turns.Answer(ctx, a)
}

// answerLater produces an async answer; it goes out only through the
// outgoing queue.
func (in *Incoming) answerLater(a *conversation.Accepted) {
	defer in.bg.Done()
	defer in.gate.leave()
	defer in.turns.Release(a) // a no-op once Answer ran
	defer func() {
		if p := recover(); p != nil {
			in.log.Error("async answer panicked", "message_id", a.Message.ID, "panic", p)
		}
	}()
	if err := in.gate.acquire(in.bgCtx); err != nil {
		in.log.Warn("async answer not produced: shutting down", "message_id", a.Message.ID)
		return
	}
	defer in.gate.release()
	ctx, cancel := context.WithTimeout(in.bgCtx, in.opts.AnswerTimeout)
	defer cancel()
	if _, err := in.turns.Answer(ctx, a); err != nil {
		in.log.Warn("async answer failed; a retry of the same message_id answers it", "message_id", a.Message.ID, "err", err)
	}
}

// writeDuplicate answers a platform's retry of a message already answered
// with the first outcome.
func (in *Incoming) writeDuplicate(w http.ResponseWriter, r *http.Request, a *conversation.Accepted) {
	out, err := in.turns.Outcome(a)
	if err != nil {
		in.fail(w, r, err)
		return
	}
	in.counters.duplicates.Add(1)
	httpapi.WriteJSON(w, http.StatusOK, responseOf(out))
}

// responseOf is the sync response body of an outcome.
func responseOf(out conversation.Outcome) incomingResponse {
	m := out.Message
	resp := incomingResponse{Success: true, MessageID: m.ID, ResponseID: out.ResponseID(), Duplicate: out.Duplicate,
		Response: &answerBody{Answer: out.Answer.Answer, ResponseType: out.Answer.Type, Sources: out.Sources(),
			UserInfo: userInfo{UserID: m.UserID, Username: m.Username, Platform: m.Platform, ConversationID: m.ConversationID}}}
	for _, h := range out.Handed {
		resp.Response.Handed = append(resp.Response.Handed, handedMessage{ID: h.ID, Text: h.Text, Sender: h.Sender,
			SenderType: h.SenderType, ResponseType: h.ResponseType, SessionID: h.SessionID, CreatedAt: h.CreatedAt})
	}
	return resp
}
