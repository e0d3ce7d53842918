package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// Send posts m to the conversation as the bot's agent. A hand-off notice
// with native hand-off first queues the conversation for handoff_target's
// group (only the group: status "assigned" would need an agent); with no
// group the notice alone goes out and the pause keeps the bot quiet.
func (Freshchat) Send(ctx context.Context, call Caller, cfg *store.WebhookConfig, m *store.Message) (webhook.Result, string) {
	base := cfg.APIURL + "/conversations/" + url.PathEscape(m.ConversationID)
	if m.ResponseType == TypeHandoff && cfg.Handoff != store.HandoffConsole && cfg.HandoffTarget != "" {
		res, _ := freshchatCall(ctx, call, cfg, http.MethodPut, base, map[string]string{"assigned_group_id": cfg.HandoffTarget})
		if !res.OK() {
			return res, ""
		}
	}
	res, answer := freshchatCall(ctx, call, cfg, http.MethodPost, base+"/messages", map[string]any{
		"message_parts": []map[string]any{{"text": map[string]string{"content": webhook.PlainText(m.Text)}}},
		"message_type":  "normal", "actor_type": "agent", "actor_id": cfg.BotID})
	if !res.OK() {
		return res, ""
	}
	var posted struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(answer, &posted) != nil {
		return res, ""
	}
	return res, posted.ID
}

func freshchatCall(ctx context.Context, call Caller, cfg *store.WebhookConfig, method, u string, body any) (webhook.Result, []byte) {
	b, err := json.Marshal(body)
	if err != nil {
		return webhook.Result{Err: fmt.Errorf("encode request: %w", err), Permanent: true}, nil
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(b))
	if err != nil {
		return webhook.Result{Err: fmt.Errorf("build request: %w (check api_url)", err), Permanent: true}, nil
	}
	req.Header.Set("Authorization", "Bearer "+cfg.APIToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return call.Call(ctx, cfg, req)
}
