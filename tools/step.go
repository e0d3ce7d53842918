package tools

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/store"
)

// Store is what the step reads and keeps: *store.Store.
type Store interface {
	Tools() ([]*store.ToolRecord, error)
	Tool(id uint64) (*store.ToolRecord, error)
	SetToolPending(ref store.ConvRef, p store.ToolPending) error
	ToolPendingFor(ref store.ConvRef) (store.ToolPending, error)
	DeleteToolPending(ref store.ConvRef) error
}

// DefaultPendingTTL is how long a half-filled call waits for the user's
// answer to its question.
const DefaultPendingTTL = 10 * time.Minute

// Replies of the step that are not a tool's own text.
const (
	cancelledText   = "OK, I won't look that up."
	troubleText     = "Sorry, I can't look that up right now. Please try again later, or reply \"talk to an agent\"."
	rateLimitedText = "You have asked me to look that up several times in a row; please wait a minute and ask again."
)

// StepOptions configure a Step.
type StepOptions struct {
	PendingTTL time.Duration // default DefaultPendingTTL
	// Embedder, when set, fires a tool whose examples are close enough to
	// a message no trigger matched (the built-in embedder: no model).
	Embedder Embedder
	// ExampleThreshold is the cosine similarity to an example that fires
	// a tool (default DefaultExampleThreshold).
	ExampleThreshold float64
	Now              func() time.Time
	Log              *slog.Logger
}

// Embedder embeds texts into normalised vectors: *embed.Builtin.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// DefaultExampleThreshold: with the built-in embedder, "where's my order
// 12345" scores 0.65 against "Where is my order?", "When does my package
// get here?" 0.54 against "When will my package arrive?", while "I want to
// return an order" scores 0.41 and "How do I reset my password?" 0.02.
const DefaultExampleThreshold = 0.5

// Step is the engine's tool step (chat.Tools), without a model: a
// trigger fires a tool, a missing parameter is asked for and remembered
// on the conversation, and the reply is rendered from the tool's answer.
type Step struct {
	store  Store
	caller *Caller
	model  Model // nil: triggers only
	opts   StepOptions
	log    *slog.Logger

	mu       sync.Mutex
	compiled map[uint64]compiledAt // by tool id, while its record is unchanged
}

type compiledAt struct {
	updated time.Time
	c       *Compiled
}

// NewStep returns the step over st, calling through caller.
func NewStep(st Store, caller *Caller, opts StepOptions) *Step {
	if opts.PendingTTL <= 0 {
		opts.PendingTTL = DefaultPendingTTL
	}
	if opts.ExampleThreshold <= 0 {
		opts.ExampleThreshold = DefaultExampleThreshold
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Step{store: st, caller: caller, opts: opts, log: log, compiled: map[uint64]compiledAt{}}
}

// Answer handles req when the conversation has a half-filled call its
// message completes or cancels, or when a trigger of an enabled tool
// matches it.
func (s *Step) Answer(ctx context.Context, req chat.Request) (chat.Reply, bool) {
	text := strings.TrimSpace(req.Text)
	if req.ConversationID != "" {
		if r, ok := s.resume(ctx, req, text); ok {
			return r, true
		}
	}
	recs, err := s.store.Tools()
	if err != nil {
		s.log.Warn("cannot read API tools; answering without them", "err", err)
		return chat.Reply{}, false
	}
	var enabled []*Compiled
	for _, rec := range recs {
		t := s.compile(rec)
		if t == nil || !t.EnabledIn(req.ConfigID, req.WidgetID) {
			continue
		}
		// A trigger's deterministic match wins over any model.
		if params, ok := t.Match(text); ok {
			return s.fire(ctx, req, t, params), true
		}
		enabled = append(enabled, t)
	}
	if t := s.closestExample(ctx, text, enabled); t != nil {
		return s.fire(ctx, req, t, t.found(text, map[string]string{})), true
	}
	return s.viaModel(ctx, req, text, enabled)
}

// closestExample is the tool with an example closest to text, when that
// is close enough.
func (s *Step) closestExample(ctx context.Context, text string, ts []*Compiled) *Compiled {
	if s.opts.Embedder == nil || text == "" {
		return nil
	}
	var vec []float32
	var best *Compiled
	bestScore := s.opts.ExampleThreshold
	for _, t := range ts {
		for _, ex := range t.exampleVecs {
			if vec == nil {
				vs, err := s.opts.Embedder.Embed(ctx, []string{text})
				if err != nil || len(vs) != 1 {
					return nil
				}
				vec = vs[0]
			}
			if score := dot(vec, ex); score >= bestScore {
				best, bestScore = t, score
			}
		}
	}
	return best
}

func dot(a, b []float32) float64 {
	var d float64
	for i := range min(len(a), len(b)) {
		d += float64(a[i]) * float64(b[i])
	}
	return d
}

// compile is the stored tool compiled, from memory while unchanged; nil
// (logged) when it no longer validates.
func (s *Step) compile(rec *store.ToolRecord) *Compiled {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.compiled[rec.ID]; ok && c.updated.Equal(rec.UpdatedAt) && c.c.Auth.Secret == rec.Secret {
		return c.c
	}
	t, err := FromRecord(rec)
	var c *Compiled
	if err == nil {
		c, err = Compile(t)
	}
	if err != nil {
		s.log.Warn("API tool skipped: its declaration is invalid", "tool", rec.Name, "err", err)
		return nil
	}
	if s.opts.Embedder != nil && len(c.Examples) > 0 {
		if c.exampleVecs, err = s.opts.Embedder.Embed(context.Background(), c.Examples); err != nil {
			s.log.Warn("API tool examples not embedded; its triggers still work", "tool", rec.Name, "err", err)
		}
	}
	s.compiled[rec.ID] = compiledAt{updated: rec.UpdatedAt, c: c}
	return c
}

// Match reports whether a trigger matches text, with the parameters its
// named groups and the parameters' patterns found (invalid values left
// out).
func (c *Compiled) Match(text string) (map[string]string, bool) {
	for _, re := range c.triggers {
		m := re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		params := map[string]string{}
		for i, g := range re.SubexpNames() {
			if g != "" && c.ValidValue(g, strings.TrimSpace(m[i])) {
				params[g] = strings.TrimSpace(m[i])
			}
		}
		return c.found(text, params), true
	}
	return nil, false
}

// found adds to params the values the parameters' patterns find in text.
func (c *Compiled) found(text string, params map[string]string) map[string]string {
	for _, p := range c.Params {
		if _, ok := params[p.Name]; ok || c.finders[p.Name] == nil {
			continue
		}
		if v := c.finders[p.Name].FindString(text); c.ValidValue(p.Name, v) {
			params[p.Name] = v
		}
	}
	return params
}

// missing is the first required parameter without a value.
func (c *Compiled) missing(params map[string]string) (Param, bool) {
	for _, p := range c.Params {
		if _, ok := params[p.Name]; p.Required && !ok {
			return p, true
		}
	}
	return Param{}, false
}

func (s *Step) fire(ctx context.Context, req chat.Request, t *Compiled, params map[string]string) chat.Reply {
	if p, ok := t.missing(params); ok {
		if req.ConversationID != "" {
			pending := store.ToolPending{ToolID: t.ID, Tool: t.Name, Params: params, Missing: p.Name,
				ExpiresAt: s.opts.Now().Add(s.opts.PendingTTL).UTC()}
			if err := s.store.SetToolPending(req.Ref(), pending); err != nil {
				s.log.Warn("cannot remember the half-filled tool call; asking all the same", "tool", t.Name, "err", err)
			}
		}
		return toolReply(t, t.askFor(p))
	}
	r, _ := s.call(ctx, req, t, params)
	return r
}

// resume continues the conversation's half-filled call: "cancel" drops
// it; a message holding the missing value fills it. Anything else drops
// it too (the user moved on) and the message is answered as any other.
func (s *Step) resume(ctx context.Context, req chat.Request, text string) (chat.Reply, bool) {
	ref := req.Ref()
	p, err := s.store.ToolPendingFor(ref)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("cannot read the half-filled tool call", "err", err)
		}
		return chat.Reply{}, false
	}
	drop := func() {
		if err := s.store.DeleteToolPending(ref); err != nil {
			s.log.Warn("cannot drop the half-filled tool call", "err", err)
		}
	}
	if !s.opts.Now().Before(p.ExpiresAt) {
		drop()
		return chat.Reply{}, false
	}
	rec, err := s.store.Tool(p.ToolID)
	var t *Compiled
	if err == nil {
		t = s.compile(rec)
	}
	if t == nil || !t.EnabledIn(req.ConfigID, req.WidgetID) {
		drop() // the tool was deleted, broken or disabled meanwhile
		return chat.Reply{}, false
	}
	if isCancel(text) {
		drop()
		return toolReply(t, cancelledText), true
	}
	v := text
	if f := t.finders[p.Missing]; f != nil {
		v = f.FindString(text)
	}
	if !t.ValidValue(p.Missing, v) {
		drop()
		return chat.Reply{}, false
	}
	params := p.Params
	if params == nil {
		params = map[string]string{}
	}
	params[p.Missing] = v
	if next, ok := t.missing(params); ok {
		p.Params, p.Missing, p.ExpiresAt = params, next.Name, s.opts.Now().Add(s.opts.PendingTTL).UTC()
		if err := s.store.SetToolPending(ref, p); err != nil {
			s.log.Warn("cannot remember the half-filled tool call", "tool", t.Name, "err", err)
		}
		return toolReply(t, t.askFor(next)), true
	}
	drop()
	r, _ := s.call(ctx, req, t, params)
	return r, true
}

// call makes the call and renders what the user sees.
func (s *Step) call(ctx context.Context, req chat.Request, t *Compiled, params map[string]string) (chat.Reply, Result) {
	who := Identity{UserID: req.UserID, ConversationID: req.ConversationID, Username: req.Username,
		Platform: req.Platform, Metadata: []byte(req.Metadata)}
	res := s.caller.Do(ctx, Call{Tool: t, Params: params, Who: who, Scope: scope(req)})
	switch res.Outcome {
	case OutcomeOK, OutcomeCached:
	case OutcomeRateLimited:
		return failReply(t, res.Outcome, rateLimitedText), res
	default:
		return failReply(t, res.Outcome, troubleText), res
	}
	answer, err := t.answer.Render(func(name string, _ bool, _ string) (string, bool) {
		if v, ok := res.Fields[name]; ok {
			return v, true
		}
		v, ok := params[name]
		return v, ok
	})
	if err != nil {
		s.log.Warn("API tool answer not rendered: the response lacks a field", "tool", t.Name, "err", err)
		res.Outcome = OutcomeMissingField
		return failReply(t, res.Outcome, troubleText), res
	}
	return toolReply(t, answer), res
}

func (c *Compiled) askFor(p Param) string {
	name := strings.ReplaceAll(p.Name, "_", " ")
	desc := p.Description
	if desc == "" {
		desc = name
	}
	out, _ := c.ask.Render(func(n string, _ bool, _ string) (string, bool) {
		if n == "description" {
			return desc, true
		}
		return name, true
	})
	return out
}

func toolReply(t *Compiled, text string) chat.Reply {
	return chat.Reply{Answer: text, Type: chat.TypeAPITool, Sources: []chat.Source{{Title: t.Name, Source: "tool:" + t.Name}}}
}

func failReply(t *Compiled, outcome, text string) chat.Reply {
	return chat.Reply{Answer: text, Type: chat.TypeNoAnswer, Fallback: "tool_" + outcome,
		Sources: []chat.Source{{Title: t.Name, Source: "tool:" + t.Name}}}
}

func scope(req chat.Request) string {
	switch {
	case req.ConfigID != 0:
		return "webhook:" + strconv.FormatUint(req.ConfigID, 10)
	case req.WidgetID != 0:
		return "widget:" + strconv.FormatUint(req.WidgetID, 10)
	}
	return "p:" + req.Platform
}

var cancelWords = map[string]bool{"cancel": true, "stop": true, "never mind": true, "nevermind": true, "forget it": true, "no thanks": true}

func isCancel(text string) bool {
	t := strings.ToLower(strings.TrimFunc(text, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) }))
	return cancelWords[t]
}
