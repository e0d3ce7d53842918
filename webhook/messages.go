package webhook

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

const (
	defaultPerPage = 20
	maxPerPage     = 100
	maxPage        = 1_000_000
)

type messageList struct {
	Success  bool            `json:"success"`
	Messages []listedMessage `json:"messages"`
	Page     int             `json:"page"`
	PerPage  int             `json:"per_page"`
	Total    int             `json:"total"`
}

// listedMessage is a stored message with the webhook-id header its
// deliveries carried (stable across retries), which an operator needs to
// find the delivery in a receiver's log; absent for a message never queued.
type listedMessage struct {
	*store.Message
	WebhookID string `json:"webhook_id,omitempty"`
}

var (
	messageTypes    = map[string]bool{string(store.MessageIncoming): true, string(store.MessageOutgoing): true, string(store.MessageAgentOutgoing): true}
	messageStatuses = map[string]bool{string(store.StatusPending): true, string(store.StatusSent): true, string(store.StatusFailed): true, string(store.StatusReceived): true}
)

// listMessages serves GET /api/webhook/messages: filtered, newest first.
func (h *Handler) listMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, err := intQuery(q, "page", 1, 1, maxPage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	perPage, err := intQuery(q, "per_page", defaultPerPage, 1, maxPerPage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var f store.MessageFilter
	var typ, status string
	for _, p := range []struct {
		name string
		dst  *string
		enum map[string]bool
	}{
		{"platform", &f.Platform, nil}, {"message_type", &typ, messageTypes},
		{"status", &status, messageStatuses}, {"conversation_id", &f.ConversationID, nil},
	} {
		v, err := oneQuery(q, p.name)
		switch {
		case err != nil:
			h.fail(w, r, err)
			return
		case p.enum != nil && v != "" && !p.enum[v]:
			h.fail(w, r, httpapi.QueryError(p.name, "%q is not one of %s", v, enumList(p.name)))
			return
		case len(v) > maxIDLen:
			h.fail(w, r, httpapi.QueryError(p.name, "at most %d bytes", maxIDLen))
			return
		}
		*p.dst = v
	}
	f.Type, f.Status = store.MessageType(typ), store.Status(status)
	msgs, total, err := h.configs.store.ListMessages(f, (page-1)*perPage, perPage)
	if err != nil {
		h.fail(w, r, apperr.Wrap(apperr.Internal, err, "could not read the message history"))
		return
	}
	ids := make([]uint64, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	webhookIDs, err := h.configs.store.WebhookIDs(ids)
	if err != nil {
		h.fail(w, r, apperr.Wrap(apperr.Internal, err, "could not read the message history"))
		return
	}
	listed := make([]listedMessage, len(msgs))
	for i, m := range msgs {
		listed[i] = listedMessage{Message: m, WebhookID: webhookIDs[m.ID]}
	}
	httpapi.WriteJSON(w, http.StatusOK, messageList{Success: true, Messages: listed, Page: page, PerPage: perPage, Total: total})
}

func enumList(name string) string {
	if name == "message_type" {
		return "incoming, outgoing, agent_outgoing"
	}
	return "pending, sent, failed, received"
}

// oneQuery returns the query parameter name; given twice it is an error.
func oneQuery(q url.Values, name string) (string, error) {
	vs := q[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", httpapi.QueryError(name, "give it at most once")
}

func intQuery(q url.Values, name string, def, lo, hi int) (int, error) {
	raw, err := oneQuery(q, name)
	if err != nil || raw == "" {
		return def, err
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, httpapi.QueryError(name, "must be a whole number from %d to %d, not %q", lo, hi, raw)
	}
	return n, nil
}
