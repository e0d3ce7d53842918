package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ollama/ollama/api"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// Retriever finds the passages relevant to a query; it returns only those
// above its relevance threshold (none means nothing relevant).
type Retriever interface {
	Search(ctx context.Context, query string, k int) ([]Passage, error)
}

// lexicalSearcher is a Retriever that can search without embeddings
// (*rag.Index): the engine uses it when Search fails, typically because
// Ollama, which embeds the question, is down.
type lexicalSearcher interface {
	SearchLexical(ctx context.Context, query string, k int) ([]Passage, error)
}

// ExtractFunc is the extractive answerer (rag.Extract): the most relevant
// sentences of the passages, quoted, and the passages it used.
type ExtractFunc func(query string, passages []Passage, maxSentences int) (answer string, used []Passage)

// LLM generates text; *Ollama is the real one.
type LLM interface {
	Chat(ctx context.Context, msgs []api.Message) (string, error)
	// Ready reports whether a call is worth trying (the breaker is closed).
	Ready() bool
}

// LiveChat is consulted before the bot answers. When it handles the
// message (a session is open, or the user asked for a human) it returns
// handled = true and the reply to give.
type LiveChat interface {
	Route(ctx context.Context, req Request) (reply Reply, handled bool, err error)
}

// Memory keeps the recent turns of each conversation; *store.Store is it.
type Memory interface {
	Conversation(ref store.ConvRef) (store.Conversation, error)
	AppendTurns(ref store.ConvRef, budget, maxTurns int, turns ...store.Turn) (store.Conversation, error)
}

// Fallback reasons, in Reply.Fallback.
const (
	FallbackNone       = ""
	FallbackDisabled   = "llm_disabled"    // --llm none
	FallbackDown       = "llm_down"        // breaker open
	FallbackBusy       = "llm_busy"        // generation queue full
	FallbackTimeout    = "llm_timeout"     // deadline reached
	FallbackError      = "llm_error"       // Ollama failed or dropped the stream
	FallbackEmpty      = "llm_empty"       // the model said nothing
	FallbackPolicy     = "policy"          // the answer repeated the system prompt
	FallbackRetrieval  = "retrieval_error" // the index failed
	FallbackQueueAhead = "deadline_queued" // the deadline passed behind an earlier message
)

// Config configures an Engine. Retriever and Extract are required.
type Config struct {
	Retriever Retriever
	Extract   ExtractFunc
	LLM       LLM      // nil: extractive answers only
	Memory    Memory   // nil: no conversation memory
	LiveChat  LiveChat // nil: no live chat
	Curated   Curated  // nil: no curated answers
	Tools     Tools    // nil: no API tools
	Persona   Persona
	Log       *slog.Logger

	// Timeout is every answer's deadline (default 30 s). The LLM gets it
	// minus a reserve for the extractive fallback.
	Timeout time.Duration
	// TopK passages are retrieved (default 4); MaxSentences are quoted by
	// the extractive answer (default 3).
	TopK         int
	MaxSentences int
	// HistoryTokens and HistoryTurns bound the remembered turns (defaults
	// 768 tokens and 20 turns, so that with the system prompt and four
	// passages the request fits Ollama's default 2048-token context);
	// MaxTurnChars caps one stored turn.
	HistoryTokens int
	HistoryTurns  int
	MaxTurnChars  int
	// Now is the clock for timings (default time.Now).
	Now func() time.Time
}

// Engine answers user messages: live chat first, then small talk, then
// retrieval and a grounded LLM answer, falling back to the extractive one.
// Messages of one conversation are answered one at a time, in arrival
// order.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	locks convLocks
	// lexicalUntil (unix ns) is when the full search may be tried again
	// after it failed; 0 when it works.
	lexicalUntil atomic.Int64
}

// NewEngine checks cfg and fills in defaults.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.Retriever == nil || cfg.Extract == nil {
		return nil, errors.New("chat engine: a retriever and an extractive answerer are required")
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.TopK, 4)
	def(&cfg.MaxSentences, 3)
	def(&cfg.HistoryTokens, 768)
	def(&cfg.HistoryTurns, 20)
	def(&cfg.MaxTurnChars, 2000)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Persona = cfg.Persona.withDefaults()
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, log: log, locks: convLocks{m: map[string]*convQueue{}}}, nil
}

// Timeout is the answer deadline.
func (e *Engine) Timeout() time.Duration { return e.cfg.Timeout }

// Answer answers one message. Its error is for a request the engine cannot
// take (an empty message) or a live-chat failure; trouble with Ollama or
// the index becomes a fallback reply, never an error or silence.
func (e *Engine) Answer(ctx context.Context, req Request) (Reply, error) {
	return e.AnswerCommit(ctx, req, nil)
}

// Commit stores a turn while its conversation is still locked: the reply
// and the memory to append (nil when the turn keeps none), in one
// transaction. Its error fails the answer.
type Commit func(r Reply, memory *store.MemoryAppend) error

// Prepare is called, with the conversation locked, before live chat may
// take the message: live chat writes to the store and tells the agents,
// so a caller that has not stored the incoming message yet (a synchronous
// turn stores it with its reply, in one commit) stores it here first,
// and live chat's records follow it as they always did.
type Prepare func(ctx context.Context) error

// LiveChatProbe is a LiveChat that can tell, by reading only, whether
// Route may take req (an open session, a request for a human). Without
// it the engine assumes it may, and calls Prepare before every Route.
// "No" must be certain, as Route is then not called: it holds because a
// session opens only in Route, for the conversation the engine has
// locked.
type LiveChatProbe interface {
	MayRoute(ctx context.Context, req Request) (bool, error)
}

// AnswerCommit is Answer that hands the turn to commit before the next
// message of the conversation may start: the reply and the memory are
// then written together (one commit per turn, not two), and the next
// message sees both. With a nil commit the engine writes the memory
// itself, as Answer does.
func (e *Engine) AnswerCommit(ctx context.Context, req Request, commit Commit) (Reply, error) {
	return e.AnswerTurn(ctx, req, commit, nil)
}

// AnswerTurn is AnswerCommit for a caller that stores the incoming
// message with the turn: prepare (when not nil) is called before live
// chat may take the message, so that the message is stored before
// anything live chat writes.
func (e *Engine) AnswerTurn(ctx context.Context, req Request, commit Commit, prepare Prepare) (Reply, error) {
	start := e.cfg.Now()
	text := strings.TrimSpace(req.Text)
	if text == "" {
		return Reply{}, apperr.Invalidf("message", "message must not be empty")
	}
	if !utf8.ValidString(text) {
		return Reply{}, apperr.Invalidf("message", "message must be valid UTF-8")
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()

	unlock, err := e.locks.lock(ctx, req.Ref().Key())
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			r := e.done(start, Reply{Answer: canned(replySlow, text), Type: TypeNoAnswer, Fallback: FallbackQueueAhead})
			return e.finish(r, nil, commit)
		}
		return Reply{}, fmt.Errorf("wait for the conversation's previous message: %w", err)
	}
	defer unlock()

	if e.cfg.LiveChat != nil && e.mayRoute(ctx, req) {
		if prepare != nil {
			if err := prepare(ctx); err != nil {
				return Reply{}, err
			}
		}
		r, handled, err := e.cfg.LiveChat.Route(ctx, req)
		if err != nil {
			return Reply{}, fmt.Errorf("live chat: %w", err)
		}
		if handled {
			return e.finish(e.done(start, r), nil, commit)
		}
	}

	if r, ok := e.curated(text); ok {
		r = e.done(start, r)
		return e.finish(r, e.memory(req, text, text, r, nil), commit)
	}
	mem := e.history(req)
	var history []store.Turn
	if mem != nil {
		history = mem.Turns
	}
	topic := standalone(text, history)
	if r, ok := e.tool(ctx, req); ok {
		r = e.done(start, r)
		return e.finish(r, e.memory(req, text, topic, r, mem), commit)
	}
	r := e.done(start, e.answer(ctx, text, topic, history))
	return e.finish(r, e.memory(req, text, topic, r, mem), commit)
}

// mayRoute reports whether live chat may take req: its probe's answer,
// or yes when there is no probe or it failed (Route then decides, after
// Prepare: storing the message first is always safe).
func (e *Engine) mayRoute(ctx context.Context, req Request) bool {
	p, ok := e.cfg.LiveChat.(LiveChatProbe)
	if !ok {
		return true
	}
	may, err := p.MayRoute(ctx, req)
	if err != nil {
		e.log.Warn("cannot tell whether live chat takes the message; asking it", "err", err)
		return true
	}
	return may
}

// finish stores the turn through commit, or without one writes the
// memory itself (a failure to remember does not fail the answer).
func (e *Engine) finish(r Reply, mem *store.MemoryAppend, commit Commit) (Reply, error) {
	if commit != nil {
		if err := commit(r, mem); err != nil {
			return Reply{}, err
		}
		return r, nil
	}
	if mem != nil {
		if _, err := e.cfg.Memory.AppendTurns(mem.Ref, mem.Budget, mem.MaxTurns, mem.Turns...); err != nil {
			e.log.Warn("cannot write conversation memory", "err", err)
		}
	}
	return r, nil
}

func (e *Engine) done(start time.Time, r Reply) Reply {
	r.Total = e.cfg.Now().Sub(start)
	if r.Sources == nil {
		r.Sources = []Source{}
	}
	return r
}

// standalone is the question with the conversation's topic, without an
// LLM: a follow-up gets the previous question's terms (expandQuery). It is
// remembered with the turn, so a chain of follow-ups keeps its topic
// whatever an LLM rewrite made of them.
func standalone(text string, history []store.Turn) string {
	if _, ok := lastUserTurn(history); ok && isFollowUp(text) {
		return expandQuery(text, history, 8)
	}
	return text
}

func (e *Engine) answer(ctx context.Context, text, topic string, history []store.Turn) Reply {
	if kind, lang := smallTalk(text, e.cfg.Persona.BotName); kind != notSmallTalk {
		return Reply{Answer: smallTalkReply(kind, lang, e.cfg.Persona.BotName), Type: TypeGeneral}
	}
	// A request for help that names nothing to search gets a question
	// back, not passages that share "account" (vague.go). General, not
	// no_answer: nothing is missing from the documents.
	if lang, ok := vagueRequest(text, e.cfg.Persona.BotName); ok {
		return Reply{Answer: cannedText(replyClarify, lang, e.cfg.Persona.BotName), Type: TypeGeneral}
	}

	t0 := e.cfg.Now()
	passages, query, err := e.retrieve(ctx, text, topic, history)
	retrieval := e.cfg.Now().Sub(t0)
	if err != nil && ctx.Err() != nil {
		return Reply{Answer: canned(replySlow, text), Type: TypeNoAnswer, Fallback: FallbackTimeout, Query: query, Retrieval: retrieval}
	}
	if err != nil {
		e.log.Warn("retrieval failed", "err", err)
		return Reply{Answer: canned(replyTrouble, text), Type: TypeNoAnswer, Fallback: FallbackRetrieval, Query: query, Retrieval: retrieval}
	}
	if len(passages) == 0 {
		return Reply{Answer: canned(replyNoAnswer, text), Type: TypeNoAnswer, Query: query, Retrieval: retrieval}
	}

	r := e.generate(ctx, text, history, passages)
	r.Query, r.Retrieval = query, retrieval
	if r.Type == TypeRAG {
		return r
	}
	ans, used := e.cfg.Extract(query, passages, e.cfg.MaxSentences)
	if strings.TrimSpace(ans) == "" {
		r.Answer, r.Type = canned(replyNoAnswer, text), TypeNoAnswer
		return r
	}
	r.Answer, r.Type, r.Sources = ans, TypeExtractive, sources(used)
	return r
}

// retrieve searches with the question made standalone: for a follow-up
// (topic differs from text), rewritten by the LLM when it is up, else the
// topic (the expansion with the previous question's terms). A rewrite that
// finds nothing is retried with the topic, so a poor rewrite costs one
// search, not the answer.
func (e *Engine) retrieve(ctx context.Context, text, topic string, history []store.Turn) ([]Passage, string, error) {
	queries := []string{topic}
	if topic != text {
		if q, ok := e.rewrite(ctx, text, history); ok && q != topic {
			queries = []string{q, topic}
		}
	}
	var last error
	for _, q := range queries {
		ps, err := e.search(ctx, q)
		if err != nil {
			last = fmt.Errorf("search: %w", err) // no query text: logs never carry message bodies
			continue
		}
		if len(ps) > 0 {
			return e.withURLs(ps), q, nil
		}
		last = nil
	}
	return nil, queries[len(queries)-1], last
}

// lexicalCooldown is how long the engine searches lexically only after
// the full search failed (its embedder, Ollama, down or hanging), so that
// users do not each wait for the embedding call to time out.
const lexicalCooldown = 30 * time.Second

// search runs the full (hybrid) search with a part of the deadline. When it
// fails and the retriever can search lexically, it does that instead, and
// keeps doing so for lexicalCooldown before trying the full search again.
func (e *Engine) search(ctx context.Context, q string) ([]Passage, error) {
	lex, canLex := e.cfg.Retriever.(lexicalSearcher)
	if !canLex {
		return e.cfg.Retriever.Search(ctx, q, e.cfg.TopK)
	}
	if until := e.lexicalUntil.Load(); until != 0 && e.cfg.Now().UnixNano() < until {
		return lex.SearchLexical(ctx, q, e.cfg.TopK)
	}
	sctx, cancel := context.WithTimeout(ctx, min(e.cfg.Timeout/4, 10*time.Second))
	ps, err := e.cfg.Retriever.Search(sctx, q, e.cfg.TopK)
	cancel()
	if err == nil || ctx.Err() != nil {
		return ps, err
	}
	e.lexicalUntil.Store(e.cfg.Now().Add(lexicalCooldown).UnixNano())
	e.log.Warn("search failed; searching lexically for a while", "err", err, "for", lexicalCooldown)
	ps, lerr := lex.SearchLexical(ctx, q, e.cfg.TopK)
	if lerr != nil {
		return nil, errors.Join(err, lerr)
	}
	return ps, nil
}

func (e *Engine) rewrite(ctx context.Context, text string, history []store.Turn) (string, bool) {
	if e.cfg.LLM == nil || !e.cfg.LLM.Ready() {
		return "", false
	}
	if len(history) > 6 {
		history = history[len(history)-6:]
	}
	rctx, cancel := context.WithTimeout(ctx, min(e.cfg.Timeout/6, 5*time.Second))
	defer cancel()
	out, err := e.cfg.LLM.Chat(rctx, rewriteMessages(history, text))
	if err != nil {
		e.log.Debug("question rewrite failed; expanding instead", "err", err)
		return "", false
	}
	return cleanRewrite(out, text)
}

// generate asks the LLM for a grounded answer. A reply of any type other
// than TypeRAG means: answer extractively, Fallback says why.
func (e *Engine) generate(ctx context.Context, text string, history []store.Turn, passages []Passage) Reply {
	if e.cfg.LLM == nil {
		return Reply{Fallback: FallbackDisabled}
	}
	// Keep a reserve of the deadline for the extractive fallback.
	reserve := min(e.cfg.Timeout/10, 2*time.Second)
	gctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		gctx, cancel = context.WithDeadline(ctx, dl.Add(-reserve))
		defer cancel()
	}
	t0 := e.cfg.Now()
	out, err := e.chatLLM(gctx, chatMessages(e.cfg.Persona, history, text, passages))
	r := Reply{Generation: e.cfg.Now().Sub(t0)}
	if err != nil {
		r.Fallback = fallbackReason(err)
		e.log.Info("llm answer unavailable; answering extractively", "reason", r.Fallback, "err", err)
		return r
	}
	if leaked(out, e.cfg.Persona) {
		e.log.Warn("llm answer repeated the system prompt; answering extractively")
		r.Fallback = FallbackPolicy
		return r
	}
	answer, cited := mapCitations(out, passages)
	if len(cited) == 0 {
		cited = passages // grounded in what it was given, though it cited nothing
	}
	r.Answer, r.Type, r.Sources = listCitations(answer, passages, embed.Lang(guessLanguage(text))), TypeRAG, sources(cited)
	r.spoken = answer
	return r
}

func fallbackReason(err error) string {
	switch {
	case errors.Is(err, ErrLLMDown):
		return FallbackDown
	case errors.Is(err, ErrLLMBusy):
		return FallbackBusy
	case errors.Is(err, ErrLLMEmpty):
		return FallbackEmpty
	case errors.Is(err, context.DeadlineExceeded):
		return FallbackTimeout
	}
	return FallbackError
}

func sources(ps []Passage) []Source {
	out := make([]Source, 0, len(ps))
	for _, p := range ps {
		out = append(out, Source{Title: passageTitle(p), Source: p.Source, URL: p.URL, Score: p.Score})
	}
	return out
}

// history is the conversation's remembered turns; a request without a
// conversation id (a one-off `chatbot ask`) has none and leaves none.
func (e *Engine) history(req Request) *store.Conversation {
	if e.cfg.Memory == nil || req.ConversationID == "" {
		return nil
	}
	c, err := e.cfg.Memory.Conversation(req.Ref())
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			e.log.Warn("cannot read conversation memory; answering without it", "err", err)
		}
		return nil
	}
	return &c
}

// memory is what the turn adds to the conversation's memory: nil for a
// request without a conversation id (a one-off `chatbot ask`) or an
// engine without memory.
func (e *Engine) memory(req Request, text, topic string, r Reply, base *store.Conversation) *store.MemoryAppend {
	if e.cfg.Memory == nil || req.ConversationID == "" {
		return nil
	}
	spoken := r.Answer // the model's own text, without the sources list (cite.go)
	if r.spoken != "" {
		spoken = r.spoken
	}
	user, bot := truncate(text, e.cfg.MaxTurnChars), truncate(spoken, e.cfg.MaxTurnChars)
	return &store.MemoryAppend{Ref: req.Ref(), Budget: e.cfg.HistoryTokens, MaxTurns: e.cfg.HistoryTurns, Base: base, Turns: []store.Turn{
		{Role: store.RoleUser, Text: user, Query: truncate(topic, e.cfg.MaxTurnChars), Tokens: estimateTokens(user)},
		{Role: store.RoleAssistant, Text: bot, ResponseType: string(r.Type), Tokens: estimateTokens(bot)}}}
}

func truncate(s string, maxRunes int) string {
	if utf8.RuneCountInString(s) <= maxRunes {
		return s
	}
	return string([]rune(s)[:maxRunes])
}
