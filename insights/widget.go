package insights

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/store"
)

var widgetConversation = regexp.MustCompile(`^[A-Za-z0-9_-]{8,100}$`)

// maxWidgetAnswers bounds how far back a rating without response_id looks
// for the conversation's latest answer.
const maxWidgetAnswers = 50

// WidgetFeedback takes a website visitor's rating of an answer of their
// own conversation (POST /api/chat/feedback, mounted by the widget's
// handler, which has checked the widget's key, origin and rate). The body
// names the conversation and the answer (response_id); without
// response_id the conversation's latest answer is rated.
func (s *Service) WidgetFeedback(w http.ResponseWriter, r *http.Request, wd *store.Widget) {
	in, err := decodeFeedback(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !widgetConversation.MatchString(in.ConversationID) {
		s.fail(w, r, apperr.Invalidf("conversation_id", "conversation_id must be the widget's: 8 to 100 letters, digits, _ or -"))
		return
	}
	ref := store.ConvRef{WidgetID: wd.ID, Platform: store.WidgetPlatform, ConversationID: in.ConversationID}
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
