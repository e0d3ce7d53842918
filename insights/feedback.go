package insights

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// Feedback request limits.
const (
	feedbackBodyLimit = 8 << 10
	maxComment        = 2000 // characters
	maxRater          = 200  // bytes
)

// feedbackInput is the body of a rating.
type feedbackInput struct {
	Rating  store.Rating `json:"rating"`
	Comment string       `json:"comment"`
	Rater   string       `json:"rater"`
	// ConversationID and ResponseID are the widget's (POST /api/chat/feedback).
	ConversationID string `json:"conversation_id"`
	ResponseID     uint64 `json:"response_id"`
}

// feedbackOutput is what a rater gets back: their rating, not what the
// store keeps with it (the question, the user).
type feedbackOutput struct {
	Success   bool            `json:"success"`
	MessageID uint64          `json:"message_id"`
	Rating    store.Rating    `json:"rating"`
	Comment   string          `json:"comment,omitempty"`
	Rater     string          `json:"rater"`
	RaterKind store.RaterKind `json:"rater_kind"`
	Replaced  bool            `json:"replaced"` // the rater's earlier rating was replaced
}

// checkFeedback validates a rating's fields; errors name the field.
func checkFeedback(in *feedbackInput) error {
	switch in.Rating {
	case store.RatingHelpful, store.RatingNotHelpful:
	case "":
		return apperr.Invalidf("rating", `rating is required: "helpful" or "not_helpful"`)
	default:
		return apperr.Invalidf("rating", `rating must be "helpful" or "not_helpful", not %q`, in.Rating)
	}
	in.Comment = strings.TrimSpace(in.Comment)
	if n := utf8.RuneCountInString(in.Comment); n > maxComment {
		return apperr.Invalidf("comment", "comment is %d characters; the limit is %d", n, maxComment)
	}
	if !utf8.ValidString(in.Comment) || strings.ContainsFunc(in.Comment, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
		return apperr.Invalidf("comment", "comment must be UTF-8 text without control characters other than line breaks and tabs")
	}
	in.Rater = strings.TrimSpace(in.Rater)
	if len(in.Rater) > maxRater || !utf8.ValidString(in.Rater) || strings.ContainsFunc(in.Rater, unicode.IsControl) {
		return apperr.Invalidf("rater", "rater must be at most %d bytes of text on one line", maxRater)
	}
	return nil
}

func decodeFeedback(w http.ResponseWriter, r *http.Request) (feedbackInput, error) {
	var in feedbackInput
	if err := httpapi.Decode(w, r, feedbackBodyLimit, &in); err != nil {
		return in, err
	}
	return in, checkFeedback(&in)
}

// Routes mounts POST /api/messages/{id}/feedback: a platform's user rates
// with the integration's incoming token (answers of that integration
// only), an agent with the admin token or the panel's session (protect).
func (s *Service) Routes(r *mux.Router, protect func(http.Handler) http.Handler) {
	agent := protect(http.HandlerFunc(s.agentFeedback))
	r.HandleFunc("/api/messages/{id}/feedback", func(w http.ResponseWriter, r *http.Request) {
		// A token that is an integration's rates as its user; any other
		// request (the admin token, a panel session, a wrong token) is the
		// admin API's to authenticate.
		if token, err := httpapi.BearerToken(r); err == nil {
			cfg, err := s.st.ConfigByTokenHash(secret.Hash(token))
			switch {
			case err == nil:
				s.userFeedback(w, r, cfg)
				return
			case !errors.Is(err, store.ErrNotFound):
				s.fail(w, r, apperr.Wrap(apperr.Unavailable, err, "could not read the integration; try again"))
				return
			}
		}
		agent.ServeHTTP(w, r)
	}).Methods(http.MethodPost)
	s.apiRoutes(r, protect)
	s.purgeRoutes(r, protect)
}

// userFeedback is a platform user's rating of an answer of cfg's.
func (s *Service) userFeedback(w http.ResponseWriter, r *http.Request, cfg *store.WebhookConfig) {
	if !cfg.IsActive {
		s.fail(w, r, apperr.New(apperr.Forbidden, "this integration is inactive; an admin can activate it"))
		return
	}
	id, err := messageID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := decodeFeedback(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	answer, err := s.st.Message(id)
	// Another integration's answer is not found, as one that does not
	// exist: a token learns nothing of other integrations.
	if errors.Is(err, store.ErrNotFound) || (err == nil && (answer.ConfigID != cfg.ID || !store.IsAnswer(answer))) {
		s.fail(w, r, apperr.New(apperr.NotFound, "no answer of the bot with id %d in this integration", id))
		return
	}
	if err != nil {
		s.fail(w, r, apperr.Wrap(apperr.Unavailable, err, "could not read the message; try again"))
		return
	}
	if in.Rater == "" {
		in.Rater = answer.UserID // as the platform reported it
	}
	s.put(w, r, id, in, store.RaterUser)
}

// agentFeedback is an agent's rating of any answer (the admin token).
func (s *Service) agentFeedback(w http.ResponseWriter, r *http.Request) {
	id, err := messageID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := decodeFeedback(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Rater == "" {
		in.Rater = "admin"
	}
	s.put(w, r, id, in, store.RaterAgent)
}

// put stores a checked rating of answer id and writes the response.
func (s *Service) put(w http.ResponseWriter, r *http.Request, id uint64, in feedbackInput, kind store.RaterKind) {
	fb, prev, err := s.st.PutFeedback(store.Feedback{MessageID: id, Rating: in.Rating, Comment: in.Comment,
		Rater: in.Rater, RaterKind: kind}, s.opts.Quiet)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrNotAnswer):
		s.fail(w, r, apperr.New(apperr.NotFound, "no answer of the bot with id %d", id))
		return
	case err != nil:
		s.fail(w, r, apperr.Wrap(apperr.Unavailable, err, "could not store the rating; try again"))
		return
	}
	if fb.Rating == store.RatingHelpful {
		s.counters.helpful.Add(1)
	} else {
		s.counters.notHelpful.Add(1)
	}
	s.log.InfoContext(r.Context(), "answer rated", "message_id", id, "rating", fb.Rating, "rater_kind", kind, "replaced", prev != nil)
	httpapi.WriteJSON(w, http.StatusOK, feedbackOutput{Success: true, MessageID: id, Rating: fb.Rating, Comment: fb.Comment,
		Rater: fb.Rater, RaterKind: kind, Replaced: prev != nil})
}

func messageID(r *http.Request) (uint64, error) {
	id, err := strconv.ParseUint(mux.Vars(r)["id"], 10, 64)
	if err != nil || id == 0 {
		return 0, apperr.Invalidf("id", "the message id in the path must be a positive integer (the answer's response_id)")
	}
	return id, nil
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.Error(w, r, s.log, err)
}
