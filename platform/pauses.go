package platform

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// pauses lists a native integration's conversation states, paused first:
// GET /api/platforms/{id}/conversations.
func (h *Handler) pauses(w http.ResponseWriter, r *http.Request) {
	id, err := h.nativeID(r)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	list, err := h.store.ConversationPauses(id)
	if err != nil {
		httpapi.Error(w, r, h.log, apperr.Wrap(apperr.Internal, err, "could not read the conversations' states"))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "conversations": list})
}

// pause is one conversation's state: GET
// /api/platforms/{id}/conversations/{conversation}.
func (h *Handler) pause(w http.ResponseWriter, r *http.Request) {
	id, err := h.nativeID(r)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	p, err := h.store.ConversationPauseState(id, mux.Vars(r)["conversation"])
	if err != nil {
		httpapi.Error(w, r, h.log, apperr.Wrap(apperr.Internal, err, "could not read the conversation's state"))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "conversation": p})
}

// resume gives a conversation back to the bot by hand: POST
// /api/platforms/{id}/conversations/{conversation}/resume.
func (h *Handler) resume(w http.ResponseWriter, r *http.Request) {
	id, err := h.nativeID(r)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	p, err := h.store.SetConversationPause(id, mux.Vars(r)["conversation"], false, store.ResumeOperator)
	if err != nil {
		httpapi.Error(w, r, h.log, apperr.Wrap(apperr.Internal, err, "could not store the conversation's state"))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "conversation": p})
}

// nativeID is the id in the path of an existing native integration.
func (h *Handler) nativeID(r *http.Request) (uint64, error) {
	id, err := strconv.ParseUint(mux.Vars(r)["id"], 10, 64)
	if err != nil || id == 0 {
		return 0, apperr.Invalidf("id", "the integration id in the path must be a positive integer")
	}
	cfg, err := h.store.Config(id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !cfg.Native()) {
		return 0, apperr.New(apperr.NotFound, "no native integration with id %d", id)
	}
	if err != nil {
		return 0, apperr.Wrap(apperr.Unavailable, err, "could not read the integration; try again")
	}
	return id, nil
}
