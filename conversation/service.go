package conversation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/store"
)

// Store is what the turn keeps: *store.Store.
type Store interface {
	InsertIncoming(m *store.Message, retention time.Duration) (store.IncomingResult, error)
	IncomingByPlatformID(ref store.ConvRef, messageID string, retention time.Duration) (store.IncomingResult, error)
	InsertReply(incomingID uint64, out *store.Message, deliver bool, with ...store.TurnWrite) error
	RecordHandled(id uint64, responseType store.ResponseType, sessionID string, latencyMS int64, with ...store.TurnWrite) error
	HandHeld(incomingID uint64) ([]store.Message, error)
	HandedWith(in *store.Message) ([]store.Message, error)
}

// Answerer produces the reply to a user's message: the engine
// (chat.Engine, which consults live chat first), or a fake in tests.
type Answerer interface {
	Answer(ctx context.Context, req chat.Request) (chat.Reply, error)
}

// committer is an Answerer that stores the turn through the service while
// the conversation is still its own (chat.Engine): the reply, the memory
// and the recorders' records in one transaction, and replies of one
// conversation stored in the order they were answered.
type committer interface {
	AnswerTurn(ctx context.Context, req chat.Request, commit chat.Commit, prepare chat.Prepare) (chat.Reply, error)
}

// Defaults of Options.
const (
	DefaultDedupeRetention = 7 * 24 * time.Hour
	// retryAfter is the Retry-After, in seconds, of a turn that failed for
	// a reason that passes (storage, the engine).
	retryAfter = 5
)

// Step runs, in order, before the engine for each message to answer (not
// for a retry already answered). A step that handles the message gives
// the reply and the engine is not asked: e.g. a conversation a platform's
// human agent owns is paused (a reply with no answer text stores nothing
// of ours). Steps that need the conversation's live chat or memory belong
// in the engine instead (chat.Config).
type Step interface {
	Before(ctx context.Context, msg *store.Message) (reply chat.Reply, handled bool, err error)
}

// Prober is a Step that can tell, by reading only, whether Before may
// handle msg. A turn whose message is not stored yet (Receive) stores it
// first when a step may handle it, so the step's own writes follow the
// message as they always did; a Step that is not a Prober is taken to
// say yes (the message is stored before it runs). "No" must be certain:
// Before is then not called for msg.
type Prober interface {
	MayHandle(ctx context.Context, msg *store.Message) (bool, error)
}

// Observer sees every turn that produced an answer, after it is stored
// (outcomes, insights). It must be quick and must not fail the turn.
type Observer interface {
	Observe(ctx context.Context, out Outcome)
}

// Recorder is an Observer whose record of the turn is written in the
// reply's own transaction: Record gives it before the reply is stored
// (nil for nothing; the reply's id is not known yet), and Observe then
// sees the outcome with Recorded set instead of writing it itself.
type Recorder interface {
	Observer
	Record(out Outcome) store.TurnWrite
}

// Options tune a Service; zero values take the defaults.
type Options struct {
	DedupeRetention time.Duration // how long a platform message id is remembered
	Now             func() time.Time
	Log             *slog.Logger
	Steps           []Step
	Observers       []Observer
}

// Service runs turns. It is safe for concurrent use; messages of one
// conversation are answered one at a time, in arrival order (the engine
// serialises them).
type Service struct {
	store    Store
	answerer Answerer
	opts     Options
	log      *slog.Logger
	inflight inflight
}

// New returns the service over st and answerer.
func New(st Store, answerer Answerer, opts Options) *Service {
	if opts.DedupeRetention <= 0 {
		opts.DedupeRetention = DefaultDedupeRetention
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, answerer: answerer, opts: opts, log: log, inflight: inflight{m: map[string]*claim{}}}
}

// DedupeRetention is how long a platform message id is remembered.
func (s *Service) DedupeRetention() time.Duration { return s.opts.DedupeRetention }

// Handle runs the whole turn for in: dedupe, live chat or the answer, the
// message and its reply stored with its delivery (one commit, Receive),
// the held messages handed over. A retry of a message already answered
// gets the first outcome (Duplicate). Errors are apperr errors a channel
// can show as they are.
func (s *Service) Handle(ctx context.Context, in Inbound) (Outcome, error) {
	a, err := s.Receive(ctx, in)
	if err != nil {
		return Outcome{}, err
	}
	if a.Answered() {
		return s.stored(a)
	}
	return s.Answer(ctx, a)
}

// Accepted is a stored incoming message waiting for its answer. Its owner
// must call Answer or Release (a platform retry waits for it meanwhile).
type Accepted struct {
	Message   *store.Message // the stored incoming message
	Reply     *store.Message // its stored reply, when it has one
	Duplicate bool           // a retry of a message id stored before
	channel   Channel
	deliver   bool
	claim     *claim
	// pending: Message is not stored yet (Receive); Answer stores it with
	// its reply, or alone before live chat, a step that may handle it, or
	// a failure.
	pending bool
	// answeredBefore: the message id turned out to be answered already
	// when the turn was stored (Outcome is the stored one).
	answeredBefore bool
}

// Answered reports whether the message already has its reply recorded
// (a retry of one answered): Outcome gives it, Answer is not needed.
func (a *Accepted) Answered() bool { return handled(a.Message) }

// Accept is the first half of the turn, for channels that answer later
// (async webhooks): dedupe and store. A retry racing the first delivery
// of its message id waits for it (for the stored message in async mode,
// for the answer in sync mode) or for ctx.
func (s *Service) Accept(ctx context.Context, in Inbound) (*Accepted, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	var c *claim
	if in.PlatformMessageID != "" {
		var owner bool
		if c, owner = s.inflight.claim(inflightKey(in.ref(), in.PlatformMessageID), false); !owner {
			return s.waitFirst(ctx, c, in)
		}
	}
	res, err := s.store.InsertIncoming(in.message(), s.opts.DedupeRetention)
	if err != nil {
		s.inflight.release(c)
		return nil, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: retryAfter, Err: err,
			Message: "could not store the message; retry later"}
	}
	if c != nil {
		c.setStored()
	}
	a := &Accepted{Message: res.Message, Reply: res.Response, Duplicate: res.Duplicate, channel: in.Channel, deliver: in.Deliver, claim: c}
	if a.Answered() {
		s.Release(a)
	}
	return a, nil
}

// Receive is the first half of the turn for channels that answer in the
// same request (a synchronous webhook, the widget, /api/ask): the dedupe
// (a read), but the message is not stored yet. Answer stores it with its
// reply, memory and outcome in one commit, where the turn used to wait
// for two in a row. A crash before that commit loses the message; that is
// acceptable only because the caller has had no success response and
// sends it again. Answer stores the message alone first wherever a
// stored message mattered before: ahead of live chat or a step that may
// handle it, and when the turn fails (a retry then finds it).
func (s *Service) Receive(ctx context.Context, in Inbound) (*Accepted, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	var c *claim
	if in.PlatformMessageID != "" {
		var owner bool
		if c, owner = s.inflight.claim(inflightKey(in.ref(), in.PlatformMessageID), true); !owner {
			return s.waitFirst(ctx, c, in)
		}
		res, err := s.store.IncomingByPlatformID(in.ref(), in.PlatformMessageID, s.opts.DedupeRetention)
		switch {
		case err == nil: // stored before: answered, or left unanswered by a failed turn
			c.setStored()
			a := &Accepted{Message: res.Message, Reply: res.Response, Duplicate: true, channel: in.Channel, deliver: in.Deliver, claim: c}
			if a.Answered() {
				s.Release(a)
			}
			return a, nil
		case !errors.Is(err, store.ErrNotFound):
			s.inflight.release(c)
			return nil, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: retryAfter, Err: err,
				Message: "could not read the earlier deliveries of this message_id; retry later"}
		}
	}
	return &Accepted{Message: in.message(), channel: in.Channel, deliver: in.Deliver, claim: c, pending: true}, nil
}

// Resume takes back a message accepted before a restart and never
// answered. ok is false when a retry of it is being handled right now.
func (s *Service) Resume(msg *store.Message, deliver bool) (a *Accepted, ok bool) {
	var c *claim
	if msg.PlatformMessageID != "" {
		var owner bool
		if c, owner = s.inflight.claim(inflightKey(msg.Ref(), msg.PlatformMessageID), false); !owner {
			return nil, false
		}
	}
	return &Accepted{Message: msg, channel: Webhook, deliver: deliver, claim: c}, true
}

// Release gives up an accepted message without answering it (a channel
// that cannot answer now); a retry then answers it.
func (s *Service) Release(a *Accepted) {
	if a != nil {
		s.inflight.release(a.claim)
		a.claim = nil
	}
}

// Outcome is the recorded outcome of an answered message (a duplicate).
func (s *Service) Outcome(a *Accepted) (Outcome, error) { return s.stored(a) }

// waitFirst answers a retry that raced the first delivery of its id.
func (s *Service) waitFirst(ctx context.Context, c *claim, in Inbound) (*Accepted, error) {
	if in.Mode == store.ResponseAsync && c.deferred {
		// The first stores its message only with its answer: an async
		// retry, which must be stored before its 202, stores it now (the
		// first's answer then goes to this message).
		res, err := s.store.InsertIncoming(in.message(), s.opts.DedupeRetention)
		if err != nil {
			return nil, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: retryAfter, Err: err,
				Message: "could not store the message; retry later"}
		}
		return &Accepted{Message: res.Message, Reply: res.Response, Duplicate: true, channel: in.Channel, deliver: in.Deliver}, nil
	}
	wait := c.done
	if in.Mode == store.ResponseAsync {
		wait = c.stored
	}
	select {
	case <-wait:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the first delivery of message %q: %w", in.PlatformMessageID, ctx.Err())
	}
	res, err := s.store.IncomingByPlatformID(in.ref(), in.PlatformMessageID, s.opts.DedupeRetention)
	if err != nil || (in.Mode != store.ResponseAsync && !handled(res.Message)) {
		return nil, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: 1,
			Message: "the first delivery of this message_id is still being processed or failed; retry later"}
	}
	return &Accepted{Message: res.Message, Reply: res.Response, Duplicate: true, channel: in.Channel, deliver: in.Deliver}, nil
}

// Answer is the second half of the turn: the engine's answer (live chat
// first), the reply stored with its delivery job, the held messages handed
// over. It releases a's claim, also when it fails; the message then stays
// unanswered and a retry answers it.
func (s *Service) Answer(ctx context.Context, a *Accepted) (Outcome, error) {
	defer s.Release(a)
	defer func() {
		if p := recover(); p != nil {
			// A panicking engine fails the turn too: the message is kept
			// for the retry before the panic goes on to the channel.
			s.keepFailed(ctx, a)
			panic(p)
		}
	}()
	msg := a.Message
	start := s.opts.Now()
	var (
		out       Outcome
		committed bool
	)
	commit := func(reply chat.Reply, mem *store.MemoryAppend) error {
		var err error
		out, err = s.record(a, reply, s.opts.Now().Sub(start).Milliseconds(), mem)
		committed = err == nil
		return err
	}
	steps := s.stepsFor(ctx, msg)
	var prepare chat.Prepare
	if a.pending {
		prepare = func(context.Context) error { return s.storeAlone(a) }
		if len(steps) > 0 {
			if err := s.storeAlone(a); err != nil {
				return Outcome{}, err
			}
		}
	}
	reply, err := s.reply(ctx, msg, steps, commit, prepare)
	if err != nil {
		s.keepFailed(ctx, a)
		if _, ok := apperr.As(err); ok {
			return Outcome{}, err
		}
		return Outcome{}, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: retryAfter, Err: err,
			Message: "the answering engine failed; retry later"}
	}
	if !committed {
		// A step handled it, or an answerer that stores nothing itself.
		if out, err = s.record(a, reply, s.opts.Now().Sub(start).Milliseconds(), nil); err != nil {
			s.keepFailed(ctx, a)
			return Outcome{}, err
		}
	}
	if a.answeredBefore {
		return out, nil
	}
	if !a.deliver && msg.WidgetID == 0 {
		handed, err := s.store.HandHeld(msg.ID)
		if err != nil {
			// The answer is stored; the held messages wait for the next one.
			s.log.WarnContext(ctx, "held messages not handed over", "message_id", msg.ID, "err", err)
		}
		out.Handed = withoutAnswer(handed, msg)
	}
	s.log.InfoContext(ctx, "message answered", "channel", a.channel, "config_id", msg.ConfigID, "widget_id", msg.WidgetID,
		"message_id", msg.ID, "response_id", out.ResponseID(), "response_type", reply.Type, "latency_ms", msg.LatencyMS,
		"handed", len(out.Handed))
	for _, o := range s.opts.Observers {
		o.Observe(ctx, out)
	}
	return out, nil
}

// record stores the turn's reply (or notes how it was handled) with the
// memory and the recorders' records, in one transaction.
func (s *Service) record(a *Accepted, reply chat.Reply, latency int64, mem *store.MemoryAppend) (Outcome, error) {
	msg := a.Message
	out := Outcome{Message: msg, Answer: reply, Duplicate: a.Duplicate}
	quiet := isLiveChat(reply.Type) || reply.Answer == ""
	if quiet {
		// The live-chat manager stored and queued what the user must see,
		// or a step kept the bot quiet. The message was stored before them
		// (Prepare, stepsFor) unless a probe said they would not:
		// then it is now, before the records that name it.
		if err := s.storeAlone(a); err != nil {
			return Outcome{}, err
		}
	} else {
		out.Reply = &store.Message{Type: store.MessageOutgoing, ConfigID: msg.ConfigID, WidgetID: msg.WidgetID,
			Platform: msg.Platform, ConversationID: msg.ConversationID, UserID: msg.UserID, Username: msg.Username,
			Text: reply.Answer, ResponseType: reply.Type, Sources: out.Sources(), SessionID: reply.SessionID,
			Sender: "Assistant", SenderType: "bot", LatencyMS: latency}
	}
	var with []store.TurnWrite
	if mem != nil {
		with = append(with, *mem)
	}
	for _, o := range s.opts.Observers {
		if r, ok := o.(Recorder); ok && !a.Duplicate {
			if w := r.Record(out); w != nil {
				with = append(with, w)
			}
		}
	}
	if quiet {
		if err := s.store.RecordHandled(msg.ID, reply.Type, reply.SessionID, latency, with...); err != nil {
			return Outcome{}, storeFailure(err)
		}
		msg.ResponseType, msg.SessionID = reply.Type, reply.SessionID
	} else if a.pending {
		// The message, its dedupe key and the reply in one commit.
		in := &store.NewIncoming{Message: msg, Retention: s.opts.DedupeRetention}
		if err := s.store.InsertReply(0, out.Reply, a.deliver, append([]store.TurnWrite{in}, with...)...); err != nil {
			return Outcome{}, storeFailure(err)
		}
		if res := in.Result; in.AnsweredBefore {
			// Answered meanwhile (another process's retry): nothing of this
			// turn was written; the first answer stands.
			a.Message, a.Reply, a.Duplicate, a.pending, a.answeredBefore = res.Message, res.Response, true, false, true
			return s.stored(a)
		}
		s.markStored(a, in.Result.Message)
	} else {
		if err := s.store.InsertReply(msg.ID, out.Reply, a.deliver, with...); err != nil {
			return Outcome{}, storeFailure(err)
		}
		msg.ResponseID, msg.ResponseType = out.Reply.ID, reply.Type
	}
	msg.LatencyMS = latency
	out.Recorded = true
	return out, nil
}

// storeAlone stores a's message by itself if it is not stored yet: before
// live chat or a step that may handle it, or when the turn failed.
func (s *Service) storeAlone(a *Accepted) error {
	if !a.pending {
		return nil
	}
	res, err := s.store.InsertIncoming(a.Message, s.opts.DedupeRetention)
	if err != nil {
		return &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: retryAfter, Err: err,
			Message: "could not store the message; retry later"}
	}
	if res.Duplicate && handled(res.Message) {
		return &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: 1,
			Message: "this message_id was answered by another delivery meanwhile; retry to get its answer"}
	}
	// A racing async retry may have stored it first: this turn answers
	// that message.
	s.markStored(a, res.Message)
	return nil
}

// keepFailed stores the message of a failed turn, if it is not stored
// yet: nothing the user sent is lost, and the platform's retry finds it
// unanswered and answers it.
func (s *Service) keepFailed(ctx context.Context, a *Accepted) {
	if err := s.storeAlone(a); err != nil {
		s.log.WarnContext(ctx, "message of a failed turn not stored", "channel", a.channel, "err", err)
	}
}

// markStored notes that a's message is now stored as m. The message keeps
// its address: the steps, the engine and the Outcome hold it.
func (s *Service) markStored(a *Accepted, m *store.Message) {
	*a.Message = *m
	a.pending = false
	if a.claim != nil {
		a.claim.setStored()
	}
}

// stepsFor returns the steps that may handle msg, in order: a Prober's
// certain "no" leaves its step out (its Before would not handle msg); a
// Step that is not a Prober, or whose probe failed, is in. When any is,
// a message not stored yet is stored before they run, as it always was.
func (s *Service) stepsFor(ctx context.Context, msg *store.Message) []Step {
	var out []Step
	for _, step := range s.opts.Steps {
		if p, ok := step.(Prober); ok {
			may, err := p.MayHandle(ctx, msg)
			if err != nil {
				s.log.WarnContext(ctx, "cannot tell whether a step handles the message; running it", "err", err)
			}
			if err == nil && !may {
				continue
			}
		}
		out = append(out, step)
	}
	return out
}

// reply is the first step that handles msg, or the engine's answer.
func (s *Service) reply(ctx context.Context, msg *store.Message, steps []Step, commit chat.Commit, prepare chat.Prepare) (chat.Reply, error) {
	for _, step := range steps {
		r, handled, err := step.Before(ctx, msg)
		if err != nil || handled {
			return r, err
		}
	}
	req := chat.Request{ConfigID: msg.ConfigID, WidgetID: msg.WidgetID, Platform: msg.Platform,
		ConversationID: msg.ConversationID, UserID: msg.UserID, Username: msg.Username, Text: msg.Text, Handoff: msg.Handoff,
		Metadata: string(msg.Metadata)}
	if c, ok := s.answerer.(committer); ok {
		return c.AnswerTurn(ctx, req, commit, prepare)
	}
	return s.answerer.Answer(ctx, req)
}

// stored rebuilds the outcome of an answered message from the store.
func (s *Service) stored(a *Accepted) (Outcome, error) {
	out := Outcome{Message: a.Message, Reply: a.Reply, Duplicate: a.Duplicate}
	out.Answer = chat.Reply{Type: a.Message.ResponseType, SessionID: a.Message.SessionID, Sources: []chat.Source{}}
	if a.Reply != nil {
		out.Answer.Answer, out.Answer.Type = a.Reply.Text, a.Reply.ResponseType
		for _, src := range a.Reply.Sources {
			out.Answer.Sources = append(out.Answer.Sources, chat.Source{Title: src.Title, Source: src.Source, URL: src.URL, Score: src.Score})
		}
	}
	handed, err := s.store.HandedWith(a.Message)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Outcome{}, storeFailure(err)
	}
	out.Handed = withoutAnswer(handed, a.Message)
	return out, nil
}

// withoutAnswer leaves out the hand-off notice of the session that msg's
// own answer opened: the answer already says it (it is marked sent all
// the same).
func withoutAnswer(handed []store.Message, msg *store.Message) []store.Message {
	if msg.ResponseType != chat.TypeLiveChatTransfer {
		return handed
	}
	out := handed[:0:0]
	for _, m := range handed {
		if m.ResponseType == chat.TypeLiveChatTransfer && m.SessionID == msg.SessionID {
			continue
		}
		out = append(out, m)
	}
	return out
}

func storeFailure(err error) error {
	return &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: retryAfter, Err: err,
		Message: "could not store the answer; retry later"}
}

// check refuses an Inbound no channel should produce: the channels
// validate their own formats; this is the turn's own floor.
func (in Inbound) check() error {
	switch in.Channel {
	case Webhook:
		if in.ConfigID == 0 {
			return errors.New("conversation: a webhook message needs its integration (ConfigID)")
		}
	case Widget:
		if in.WidgetID == 0 {
			return errors.New("conversation: a widget message needs its widget (WidgetID)")
		}
	case CLI:
	default:
		return fmt.Errorf("conversation: unknown channel %q", in.Channel)
	}
	if in.Text == "" {
		return apperr.Invalidf("message", "message must not be empty")
	}
	return nil
}
