package platform

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// Defaults of Options.
const (
	DefaultMaxConcurrent = 16
	DefaultAnswerTimeout = 60 * time.Second
	maxEventBytes        = 256 << 10 // Chatwoot's events carry the conversation and contact
	overloadRetryAfter   = 5
)

// Options tune a Handler; zero values take the defaults.
type Options struct {
	MaxConcurrent int           // answers produced at once
	AnswerTimeout time.Duration // bound on one answer
	Now           func() time.Time
	// BurstWindow: a user's message is answered once this long passed
	// with no newer message in its conversation, together with the
	// messages before it (one reply per burst); 0 answers each at once.
	BurstWindow time.Duration
	// After is the burst window's timer (time.After); tests drive it.
	After func(time.Duration) <-chan time.Time
	// Call makes the typing indicator's request (the delivery worker's
	// *webhook.Sender, for the same address policy); nil: no indicator.
	Call Caller
}

// Handler serves POST /api/platforms/{id}/events and the pause API.
// Answers run in owned goroutines that Close waits for.
type Handler struct {
	store    *store.Store
	turns    *conversation.Service
	adapters map[string]Adapter
	log      *slog.Logger
	opts     Options
	slots    chan struct{}

	warnedUnsigned sync.Map // config id -> struct{}: accept_unsigned logged once
	bursts         bursts

	mu       sync.Mutex // guards closed and bg.Add
	closed   bool
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// NewHandler returns the endpoint: integrations from st, turns through
// turns, formats by adapters (Adapters()).
func NewHandler(st *store.Store, turns *conversation.Service, adapters map[string]Adapter, log *slog.Logger, opts Options) *Handler {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.AnswerTimeout <= 0 {
		opts.AnswerTimeout = DefaultAnswerTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Handler{store: st, turns: turns, adapters: adapters, log: log, opts: opts,
		slots: make(chan struct{}, opts.MaxConcurrent), bgCtx: ctx, bgCancel: cancel}
}

// Routes registers the events endpoint (authenticated by the platform's
// signature) and the pause API (admin).
func (h *Handler) Routes(r *mux.Router, admin func(http.Handler) http.Handler) {
	r.HandleFunc("/api/platforms/{id}/events", h.events).Methods(http.MethodPost)
	r.Handle("/api/platforms/{id}/sample", admin(http.HandlerFunc(h.sample))).Methods(http.MethodPost)
	r.Handle("/api/platforms/{id}/conversations", admin(http.HandlerFunc(h.pauses))).Methods(http.MethodGet)
	r.Handle("/api/platforms/{id}/conversations/{conversation}", admin(http.HandlerFunc(h.pause))).Methods(http.MethodGet)
	r.Handle("/api/platforms/{id}/conversations/{conversation}/resume", admin(http.HandlerFunc(h.resume))).Methods(http.MethodPost)
}

// Close stops taking events and waits for the answers in progress until
// ctx ends; then it cancels them. It is safe to call twice.
func (h *Handler) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.bg.Wait(); close(done) }()
	select {
	case <-done:
		h.bgCancel()
		return nil
	case <-ctx.Done():
		h.bgCancel()
		return errors.New("platform events: shutdown cancelled answers still in progress")
	}
}

type eventResponse struct {
	Success   bool   `json:"success"`
	MessageID uint64 `json:"message_id,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
	Ignored   string `json:"ignored,omitempty"`
	Paused    *bool  `json:"paused,omitempty"`
	Cause     string `json:"cause,omitempty"`
}

// events takes a platform's POST: find the integration by the id in the
// path, check the platform's signature, parse its events, act on each;
// 200 at once, the answers later through the delivery queue. One event
// answers its own result; several (Sunshine Conversations batches them)
// answer the list. A failure fails the whole POST: the platform retries
// it, and the events already taken are deduped.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	cfg, adapter, err := h.integration(r)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	body, err := httpapi.ReadBody(w, r, maxEventBytes)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	if err := h.verify(r, cfg, adapter, body); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	evs, err := adapter.Parse(cfg, body)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	results := make([]eventResponse, 0, len(evs))
	for _, ev := range evs {
		res, err := h.act(r, cfg, ev)
		if err != nil {
			httpapi.Error(w, r, h.log, err)
			return
		}
		results = append(results, res)
	}
	if len(results) == 1 {
		httpapi.WriteJSON(w, http.StatusOK, results[0])
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "events": results})
}

// act does what one event asks.
func (h *Handler) act(r *http.Request, cfg *store.WebhookConfig, ev Event) (eventResponse, error) {
	switch ev.Kind {
	case Pause, Resume:
		if h.ownEcho(cfg, ev) {
			return eventResponse{Success: true, Ignored: "the bot's own message"}, nil
		}
		return h.setPause(r, cfg, ev.ConversationID, ev.Kind == Pause, ev.Reason)
	case Message:
		return h.message(r, cfg, ev)
	}
	return eventResponse{Success: true, Ignored: ev.Reason}, nil
}

// ownEcho reports whether a pausing message is the platform's echo of
// one the bot posted (its id recorded at delivery). A failed read counts
// as not ours: pausing wrongly is safer than talking over a human.
func (h *Handler) ownEcho(cfg *store.WebhookConfig, ev Event) bool {
	if ev.Kind != Pause || ev.SentID == "" {
		return false
	}
	sent, err := h.store.PlatformSent(cfg.ID, ev.SentID)
	if err != nil {
		h.log.Warn("could not check whether a message is the bot's own; pausing", "config_id", cfg.ID, "err", err)
	}
	return sent
}

// integration is the active native integration of the id in the path.
func (h *Handler) integration(r *http.Request) (*store.WebhookConfig, Adapter, error) {
	id, err := strconv.ParseUint(mux.Vars(r)["id"], 10, 64)
	if err != nil || id == 0 {
		return nil, nil, apperr.Invalidf("id", "the integration id in the path must be a positive integer")
	}
	cfg, err := h.store.Config(id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !cfg.Native()) {
		return nil, nil, apperr.New(apperr.NotFound, "no native integration with id %d", id)
	}
	if err != nil {
		return nil, nil, apperr.Wrap(apperr.Unavailable, err, "could not read the integration; try again")
	}
	a, ok := h.adapters[cfg.Provider]
	if !ok {
		return nil, nil, apperr.New(apperr.NotFound, "no native adapter for provider %q", cfg.Provider)
	}
	if !cfg.IsActive {
		return nil, nil, apperr.New(apperr.Forbidden, "this integration is inactive; an admin can activate it")
	}
	return cfg, a, nil
}

// verify checks the platform's signature. An unsigned event passes only
// when the integration accepts unsigned events (logged once per config).
func (h *Handler) verify(r *http.Request, cfg *store.WebhookConfig, a Adapter, body []byte) error {
	err := ErrUnsigned
	if cfg.Secret != "" {
		err = a.Verify(cfg, r.Header, body, h.opts.Now())
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrUnsigned) && cfg.AcceptUnsigned {
		if _, seen := h.warnedUnsigned.LoadOrStore(cfg.ID, struct{}{}); !seen {
			h.log.Warn("accepting unsigned platform events: anyone who knows the URL can post as the platform; set platform_secret and turn accept_unsigned off",
				"config_id", cfg.ID, "provider", cfg.Provider)
		}
		return nil
	}
	h.log.InfoContext(r.Context(), "platform event refused", "request_id", httpapi.RequestID(r.Context()),
		"config_id", cfg.ID, "provider", cfg.Provider, "reason", err.Error())
	return apperr.New(apperr.Unauthorized, "%s signature refused: %v", cfg.Provider, err)
}

func (h *Handler) setPause(r *http.Request, cfg *store.WebhookConfig, conv string, paused bool, cause string) (eventResponse, error) {
	if conv == "" {
		return eventResponse{}, apperr.Invalidf("conversation", "the event names no conversation")
	}
	p, err := h.store.SetConversationPause(cfg.ID, conv, paused, cause)
	if err != nil {
		return eventResponse{}, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: overloadRetryAfter, Err: err,
			Message: "could not store the conversation's state; retry later"}
	}
	h.log.InfoContext(r.Context(), "platform conversation state", "config_id", cfg.ID, "conversation_id", conv,
		"paused", p.Paused, "cause", p.Cause)
	return eventResponse{Success: true, Paused: &p.Paused, Cause: p.Cause}, nil
}

// message stores the user's message (deduped on the platform's id) and
// answers it in the background.
func (h *Handler) message(r *http.Request, cfg *store.WebhookConfig, ev Event) (eventResponse, error) {
	if ev.HumanOwned {
		if _, err := h.store.SetConversationPause(cfg.ID, ev.ConversationID, true, store.PauseStatusOpen); err != nil {
			return eventResponse{}, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: overloadRetryAfter, Err: err,
				Message: "could not store the conversation's state; retry later"}
		}
	}
	in := ev.Inbound
	in.Channel, in.ConfigID, in.Platform, in.ConversationID = conversation.Webhook, cfg.ID, cfg.Provider, ev.ConversationID
	in.Mode, in.Deliver = store.ResponseAsync, true
	if !h.startBackground() {
		return eventResponse{}, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: overloadRetryAfter,
			Message: "the server is shutting down; retry later"}
	}
	a, err := h.turns.Accept(r.Context(), in)
	if err != nil || a.Answered() || a.Duplicate {
		h.bg.Done()
		if err != nil {
			return eventResponse{}, err
		}
		h.turns.Release(a)
		return eventResponse{Success: true, MessageID: a.Message.ID, Duplicate: true}, nil
	}
	h.schedule(a)
	return eventResponse{Success: true, MessageID: a.Message.ID}, nil
}

func (h *Handler) startBackground() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.bg.Add(1)
	return true
}

// schedule answers a at once, or, with a burst window, once the window
// passed with no newer message in its conversation. The timer starts
// before the event is acknowledged, so a test knows it is there.
func (h *Handler) schedule(a *conversation.Accepted) {
	if h.opts.BurstWindow <= 0 {
		go h.answer(a)
		return
	}
	k := burstKey{config: a.Message.ConfigID, conv: a.Message.ConversationID}
	gen := h.bursts.add(k, a)
	timer := h.opts.After(h.opts.BurstWindow)
	go h.burstWait(k, gen, timer)
}

// burstWait is one message's window: when it ends and no newer message
// came, it answers the whole burst; otherwise the newer message's window
// does. Each message holds one count of h.bg; the one answering keeps
// its own and gives it back in answer.
func (h *Handler) burstWait(k burstKey, gen uint64, timer <-chan time.Time) {
	select {
	case <-timer:
	case <-h.bgCtx.Done():
	}
	msgs := h.bursts.take(k, gen)
	if len(msgs) == 0 {
		h.bg.Done()
		return
	}
	if h.bgCtx.Err() != nil {
		// Shutting down: the messages stay unanswered and are answered at
		// the next start (Claim).
		for _, a := range msgs {
			h.turns.Release(a)
		}
		h.log.Warn("platform burst not answered: shutting down", "config_id", k.config, "conversation_id", k.conv, "messages", len(msgs))
		h.bg.Done()
		return
	}
	h.answer(msgs...)
}

// answer produces the answer of accepted messages of one conversation,
// in arrival order (one, or a burst); it goes out through the delivery
// queue (the reply is stored with its job). A burst is answered once:
// the engine gets the joined texts, the reply is the last message's, and
// the earlier messages are recorded as handled with the same response,
// so a platform retry of any of them gets no second answer.
func (h *Handler) answer(msgs ...*conversation.Accepted) {
	defer h.bg.Done()
	last := msgs[len(msgs)-1]
	defer func() {
		for _, a := range msgs {
			h.turns.Release(a) // a no-op once Answer ran
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("platform answer panicked", "message_id", last.Message.ID, "panic", p)
		}
	}()
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	case <-h.bgCtx.Done():
		h.log.Warn("platform answer not produced: shutting down", "message_id", last.Message.ID)
		return
	}
	ctx, cancel := context.WithTimeout(h.bgCtx, h.opts.AnswerTimeout)
	defer cancel()
	if len(msgs) > 1 {
		// Only what the engine reads changes: the stored message keeps its
		// own text.
		own := last.Message.Text
		last.Message.Text = joined(msgs)
		defer func() { last.Message.Text = own }()
	}
	h.typing(ctx, last.Message)
	out, err := h.turns.Answer(ctx, last)
	if err != nil {
		// The earlier messages stay unanswered too: the next start answers them.
		h.log.Warn("platform answer failed; it is answered again at the next start", "message_id", last.Message.ID,
			"messages", len(msgs), "err", err)
		return
	}
	for _, a := range msgs[:len(msgs)-1] {
		if err := h.store.RecordHandled(a.Message.ID, out.Answer.Type, out.Answer.SessionID, 0); err != nil {
			h.log.Warn("a message answered in a burst was not recorded as handled; the next start may answer it again",
				"message_id", a.Message.ID, "answered_with", last.Message.ID, "err", err)
		}
	}
	if len(msgs) > 1 {
		h.log.Info("platform burst answered once", "config_id", last.Message.ConfigID,
			"conversation_id", last.Message.ConversationID, "messages", len(msgs), "message_id", last.Message.ID)
	}
}

// typing shows the bot as typing where the platform has an indicator,
// before the answer is produced. Best effort: a failure is logged and the
// answer goes on. Not in a paused conversation: a human has it.
func (h *Handler) typing(ctx context.Context, msg *store.Message) {
	if h.opts.Call == nil {
		return
	}
	cfg, err := h.store.Config(msg.ConfigID)
	if err != nil {
		h.log.Warn("typing indicator not sent: could not read the integration", "config_id", msg.ConfigID, "err", err)
		return
	}
	t, ok := h.adapters[cfg.Provider].(Typer)
	if !ok {
		return
	}
	if p, err := h.store.ConversationPauseState(cfg.ID, msg.ConversationID); err != nil || p.Paused {
		return
	}
	if res := t.Typing(ctx, h.opts.Call, cfg, msg.ConversationID); !res.OK() {
		h.log.Warn("typing indicator failed; answering all the same", "config_id", cfg.ID, "provider", cfg.Provider,
			"conversation_id", msg.ConversationID, "status", res.StatusCode, "err", res.Err)
	}
}
