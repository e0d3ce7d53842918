package insights

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/store"
)

// widgetPlatform is the platform name of widget conversations (as the
// widget's chat API stores them).
const widgetPlatform = "widget"

var widgetConversation = regexp.MustCompile(`^[A-Za-z0-9_-]{8,100}$`)

// maxWidgetAnswers bounds how far back a rating without response_id looks
// for the conversation's latest answer.
const maxWidgetAnswers = 50

// WidgetRoutes mounts POST (and its CORS preflight) /api/chat/feedback: a
// website visitor rates an answer of their own conversation, with the
// widget's key and from one of its allowed origins, as the chat API. The
// body names the conversation and the answer (response_id); without
// response_id the conversation's latest answer is rated.
func (s *Service) WidgetRoutes(r *mux.Router) {
	r.HandleFunc("/api/chat/feedback", s.widgetPreflight).Methods(http.MethodOptions)
	r.HandleFunc("/api/chat/feedback", s.widgetFeedback).Methods(http.MethodPost)
}

// widgetFor finds the active widget of the request's key and checks the
// Origin against its list; it returns the origin to echo.
func (s *Service) widgetFor(r *http.Request) (*store.Widget, string, error) {
	key := r.URL.Query().Get("key")
	if key == "" {
		key = r.Header.Get("X-Widget-Key")
	}
	if key == "" {
		return nil, "", apperr.New(apperr.Unauthorized, "missing widget key: load the widget with data-key")
	}
	wd, err := s.st.WidgetByKey(key)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !wd.IsActive) {
		return nil, "", apperr.New(apperr.Unauthorized, "unknown or disabled widget key")
	}
	if err != nil {
		return nil, "", apperr.Wrap(apperr.Unavailable, err, "could not read the widget; try again")
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil, "", apperr.New(apperr.Forbidden, "the Origin header is required: the widget API answers browsers on the widget's allowed sites")
	}
	if !slices.Contains(wd.AllowedOrigins, origin) {
		return nil, "", apperr.New(apperr.Forbidden, "origin %q is not allowed for this widget", origin)
	}
	return wd, origin, nil
}

func (s *Service) widgetPreflight(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	_, origin, err := s.widgetFor(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Widget-Key")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) widgetFeedback(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	wd, origin, err := s.widgetFor(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	in, err := decodeFeedback(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !widgetConversation.MatchString(in.ConversationID) {
		s.fail(w, r, apperr.Invalidf("conversation_id", "conversation_id must be the widget's: 8 to 100 letters, digits, _ or -"))
		return
	}
	ref := store.ConvRef{WidgetID: wd.ID, Platform: widgetPlatform, ConversationID: in.ConversationID}
	id, err := s.widgetAnswer(ref, in.ResponseID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// One rating per visitor: the conversation is the visitor's; what
	// the browser says of itself is not asked.
	in.Rater = "visitor_" + in.ConversationID
	s.put(w, r, id, in, store.RaterVisitor)
}

// widgetAnswer is the answer to rate: responseID when it is an answer of
// the conversation ref, the conversation's latest answer when it is 0.
func (s *Service) widgetAnswer(ref store.ConvRef, responseID uint64) (uint64, error) {
	notFound := apperr.New(apperr.NotFound, "no answer of the bot with this response_id in this conversation")
	if responseID != 0 {
		m, err := s.st.Message(responseID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (m.Ref() != ref || !store.IsAnswer(m))) {
			return 0, notFound
		}
		if err != nil {
			return 0, apperr.Wrap(apperr.Unavailable, err, "could not read the message; try again")
		}
		return responseID, nil
	}
	msgs, err := s.st.ConversationMessages(ref, maxWidgetAnswers)
	if err != nil {
		return 0, apperr.Wrap(apperr.Unavailable, err, "could not read the conversation; try again")
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if store.IsAnswer(&msgs[i]) {
			return msgs[i].ID, nil
		}
	}
	return 0, apperr.New(apperr.NotFound, "this conversation has no answer of the bot to rate yet (conversation_id %s)", strconv.Quote(ref.ConversationID))
}
