// Package widget is the website chat widget's public API: the script
// sites embed (/widget.js), the visitor's messages (POST /api/chat, as JSON
// or streamed as Server-Sent Events), the live-chat poll (GET
// /api/chat/messages), their CORS checks against each widget's allowed
// origins, and the per-visitor and per-widget limits. A message is handed
// to the conversation service like any other channel's. Widgets are
// created and changed in the admin panel (admin/widgets.go), which calls
// Forget after a change.
package widget

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/metrics"
	"github.com/chatbot/chatbot/store"
)

// ConversationReader lists a conversation's stored messages, oldest first;
// the widget reads the agent's replies from it.
type ConversationReader interface {
	ConversationMessages(ref store.ConvRef) ([]store.Message, error)
}

// Options configure the Handler. Store and Log are required.
type Options struct {
	Store *store.Store
	// Turns answers widget chats (the conversation service every channel
	// uses); nil answers 503 until one is wired.
	Turns *conversation.Service
	// Conversations lets visitors read what agents write them in a live
	// chat; nil answers 503 to the polls.
	Conversations ConversationReader
	Log           *slog.Logger
	// Metrics, when set, gets the widget's request outcomes.
	Metrics *metrics.Registry
	// TrustedProxies are the peers whose X-Forwarded-For names the visitor
	// (httpapi.ClientIP).
	TrustedProxies []netip.Prefix
	Now            func() time.Time
	// Feedback, when set, takes a visitor's rating of an answer
	// (POST /api/chat/feedback) once the widget's key, origin and rate
	// are checked here, as for the chat itself.
	Feedback func(w http.ResponseWriter, r *http.Request, wd *store.Widget)
}

// Handler serves the widget's public routes.
type Handler struct {
	opts    Options
	st      *store.Store
	log     *slog.Logger
	limiter *limiter
}

// New returns the widget handler.
func New(opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{opts: opts, st: opts.Store, log: opts.Log, limiter: newLimiter(opts.Now)}
	if opts.Metrics != nil {
		opts.Metrics.AddCollector(h.limiter.collect)
	}
	return h
}

// Routes mounts the widget's routes on r. None of them is behind the
// admin authenticator: a widget key and an allowed Origin are the
// credentials, and an admin's cookie changes nothing.
func (h *Handler) Routes(r *mux.Router) {
	r.HandleFunc("/widget.js", serveScript).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/api/chat", h.preflight).Methods(http.MethodOptions)
	r.HandleFunc("/api/chat", h.chat).Methods(http.MethodPost)
	r.HandleFunc("/api/chat/messages", h.messages).Methods(http.MethodGet)
	if h.opts.Feedback != nil {
		r.HandleFunc("/api/chat/feedback", h.preflight).Methods(http.MethodOptions)
		r.HandleFunc("/api/chat/feedback", h.feedback).Methods(http.MethodPost)
	}
}

// feedback checks a rating's widget, origin and rate, then hands it to
// Options.Feedback. Ratings share the polls' budget (ten times the chat
// rate per visitor).
func (h *Handler) feedback(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	wd, origin, err := h.widgetFor(r)
	if err != nil {
		h.limiter.count("refused")
		h.fail(w, r, err)
		return
	}
	setCORS(w, origin)
	if wait := h.limiter.take(pollBucket(wd.ID), h.clientIP(r), 10*wd.RatePerMinute); wait > 0 {
		h.limiter.count("rate_limited")
		e := apperr.New(apperr.RateLimited, "rating too often; try again in %d seconds", retryAfter(wait))
		e.RetryAfterSeconds = retryAfter(wait)
		h.fail(w, r, e)
		return
	}
	h.opts.Feedback(w, r, wd)
}

// Forget drops a widget's rate buckets, so a changed rate or a rotated key
// applies from the next request; the panel calls it after every change.
func (h *Handler) Forget(id uint64) { h.limiter.forget(id) }

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.Error(w, r, h.log, err)
}

// clientIP is the visitor's address as every limiter in the server sees it.
func (h *Handler) clientIP(r *http.Request) string {
	return httpapi.ClientIP(r, h.opts.TrustedProxies).String()
}

// widgetFor finds the widget of the request's key and checks the Origin
// header against its list. It returns the origin to echo in CORS headers.
func (h *Handler) widgetFor(r *http.Request) (*store.Widget, string, error) {
	key := r.URL.Query().Get("key")
	if key == "" {
		key = r.Header.Get("X-Widget-Key")
	}
	if key == "" {
		return nil, "", apperr.New(apperr.Unauthorized, "missing widget key: load the widget with data-key")
	}
	wd, err := h.st.WidgetByKey(key)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !wd.IsActive) {
		return nil, "", apperr.New(apperr.Unauthorized, "unknown or disabled widget key")
	}
	if err != nil {
		return nil, "", err
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil, "", apperr.New(apperr.Forbidden, "the Origin header is required: the chat API answers browsers on the widget's allowed sites")
	}
	for _, o := range wd.AllowedOrigins {
		if o == origin {
			return wd, origin, nil
		}
	}
	return nil, "", apperr.New(apperr.Forbidden, "origin %q is not allowed for this widget", origin)
}

func setCORS(w http.ResponseWriter, origin string) {
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
}

func (h *Handler) preflight(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	_, origin, err := h.widgetFor(r)
	if err != nil {
		h.limiter.count("refused")
		h.fail(w, r, err)
		return
	}
	setCORS(w, origin)
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Widget-Key")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// retryAfter rounds a wait up to whole seconds for the Retry-After header.
func retryAfter(d time.Duration) int { return httpapi.RetryAfterSeconds(d) }
