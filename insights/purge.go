package insights

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// maxUserID bounds the user id of a purge (as the webhook's user_id).
const maxUserID = 256

// purgeRoutes mounts POST /api/conversations/purge (admin): a
// right-to-erasure request, {"user_id": "..."}.
func (s *Service) purgeRoutes(r *mux.Router, protect func(http.Handler) http.Handler) {
	r.Handle("/api/conversations/purge", protect(http.HandlerFunc(s.purgeAPI))).Methods(http.MethodPost)
}

// CheckUserID validates the user id of a purge; the error names the field.
func CheckUserID(id string) error {
	if strings.TrimSpace(id) == "" {
		return apperr.Invalidf("user_id", "user_id is required: the platform's id of the user to erase")
	}
	if len(id) > maxUserID || !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl) {
		return apperr.Invalidf("user_id", "user_id must be at most %d bytes of text on one line", maxUserID)
	}
	return nil
}

func (s *Service) purgeAPI(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID string `json:"user_id"`
	}
	if err := httpapi.Decode(w, r, 4<<10, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := CheckUserID(in.UserID); err != nil {
		s.fail(w, r, err)
		return
	}
	rep, err := s.st.PurgeUser(in.UserID)
	if err != nil {
		s.fail(w, r, apperr.Wrap(apperr.Unavailable, err, "could not purge the user's data; nothing was removed; try again"))
		return
	}
	// The log names no user: the report's counts only.
	s.log.InfoContext(r.Context(), "user data purged", "conversations", rep.Conversations, "messages", rep.Messages,
		"feedback", rep.Feedback, "live_chat_sessions", rep.LiveChatSessions, "deliveries", rep.Deliveries)
	httpapi.WriteJSON(w, http.StatusOK, struct {
		Success bool              `json:"success"`
		Purged  store.PurgeReport `json:"purged"`
	}{true, rep})
}
