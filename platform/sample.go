package platform

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// Sample is a native event as the platform would send it, for `chatbot
// webhook test`: a user's message in a conversation, signed with the
// integration's platform secret.
type Sample struct {
	ConversationID string
	MessageID      string // the platform's message id: unique per sample, so it is never a duplicate
	Text           string
}

// Sampler is an adapter that can build and sign a sample event.
// Freshchat signs with its own private key, so no sample of it can be
// signed here.
type Sampler interface {
	// SampleEvent returns the event's body and the headers that sign it
	// with cfg.Secret at now (none when cfg.Secret is empty).
	SampleEvent(cfg *store.WebhookConfig, s Sample, now time.Time) (body []byte, h http.Header, err error)
}

// SampleEvent builds a Chatwoot message_created of a contact in a
// pending (bot-owned) conversation, signed as Chatwoot signs.
func (Chatwoot) SampleEvent(cfg *store.WebhookConfig, s Sample, now time.Time) ([]byte, http.Header, error) {
	ev := map[string]any{
		"event": "message_created", "id": s.MessageID, "content": s.Text, "message_type": "incoming",
		"content_type": "text", "private": false, "created_at": now.UTC().Format(time.RFC3339),
		"sender":       map[string]any{"id": "chatbot-webhook-test", "name": "chatbot webhook test", "type": "contact"},
		"conversation": map[string]any{"id": s.ConversationID, "status": "pending"},
	}
	if cfg.Account != "" {
		ev["account"] = map[string]any{"id": cfg.Account}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the sample event: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if cfg.Secret != "" {
		ts := strconv.FormatInt(now.Unix(), 10)
		mac := hmac.New(sha256.New, []byte(cfg.Secret))
		mac.Write([]byte(ts + "."))
		mac.Write(body)
		h.Set(chatwootSignature, "sha256="+hex.EncodeToString(mac.Sum(nil)))
		h.Set(chatwootTimestamp, ts)
	}
	return body, h, nil
}

// sampleRequest is the body of POST /api/platforms/{id}/sample.
type sampleRequest struct {
	ConversationID string `json:"conversation_id"`
	Text           string `json:"text"`
}

// SampleResponse is the answer of POST /api/platforms/{id}/sample: the
// event to post to EventsPath with Headers, as the platform would.
type SampleResponse struct {
	Success        bool              `json:"success"`
	Provider       string            `json:"provider"`
	EventsPath     string            `json:"events_path"`
	ConversationID string            `json:"conversation_id"`
	MessageID      string            `json:"message_id"`
	Signed         bool              `json:"signed"`
	Headers        map[string]string `json:"headers"`
	Body           string            `json:"body"`
}

const (
	defaultSampleConversation = "chatbot-webhook-test"
	defaultSampleText         = "Hello! This is a test message from chatbot webhook test: what can you help me with?"
)

// sample serves POST /api/platforms/{id}/sample (admin): a signed sample
// event of the integration's platform. The server builds it because only
// it holds the platform secret; the caller posts it to the events
// endpoint, so the test goes through the whole path.
func (h *Handler) sample(w http.ResponseWriter, r *http.Request) {
	cfg, adapter, err := h.integration(r)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	var req sampleRequest
	if r.ContentLength != 0 {
		if err := httpapi.Decode(w, r, 16<<10, &req); err != nil {
			httpapi.Error(w, r, h.log, err)
			return
		}
	}
	s, ok := adapter.(Sampler)
	if !ok {
		httpapi.Error(w, r, h.log, apperr.Invalidf("provider", "no sample event for provider %s (only Chatwoot has one): send a message from the platform itself to test it", cfg.Provider))
		return
	}
	now := h.opts.Now()
	sm := Sample{ConversationID: strings.TrimSpace(req.ConversationID), Text: strings.TrimSpace(req.Text),
		MessageID: "chatbot-test-" + strconv.FormatInt(now.UnixNano(), 10)}
	if sm.ConversationID == "" {
		sm.ConversationID = defaultSampleConversation
	}
	if sm.Text == "" {
		sm.Text = defaultSampleText
	}
	body, hdr, err := s.SampleEvent(cfg, sm, now)
	if err != nil {
		httpapi.Error(w, r, h.log, apperr.Wrap(apperr.Internal, err, "could not build the sample event"))
		return
	}
	res := SampleResponse{Success: true, Provider: cfg.Provider, EventsPath: "/api/platforms/" + strconv.FormatUint(cfg.ID, 10) + "/events",
		ConversationID: sm.ConversationID, MessageID: sm.MessageID, Signed: cfg.Secret != "", Headers: map[string]string{}, Body: string(body)}
	for k := range hdr {
		res.Headers[k] = hdr.Get(k)
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
}
