package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// Send posts m to the conversation through Chatwoot's messages API. A
// hand-off notice with native hand-off first opens the conversation for
// the agents (toggle_status open, and the team of handoff_target): those
// calls are idempotent, so a retry after the notice failed repeats them
// harmlessly, while the notice is posted once it is the last step.
func (Chatwoot) Send(ctx context.Context, call Caller, cfg *store.WebhookConfig, m *store.Message) (webhook.Result, string) {
	base := cfg.APIURL + "/api/v1/accounts/" + url.PathEscape(cfg.Account) + "/conversations/" + url.PathEscape(m.ConversationID)
	var total webhook.Result
	var answer []byte
	step := func(path string, body any) bool {
		res, b := chatwootCall(ctx, call, cfg, base+path, body)
		res.Duration += total.Duration
		total, answer = res, b
		return res.OK()
	}
	if m.ResponseType == TypeHandoff && cfg.Handoff != store.HandoffConsole {
		if !step("/toggle_status", map[string]string{"status": "open"}) {
			return total, ""
		}
		if team, err := strconv.ParseUint(cfg.HandoffTarget, 10, 64); err == nil {
			if !step("/assignments", map[string]uint64{"team_id": team}) {
				return total, ""
			}
		}
	}
	if !step("/messages", map[string]any{"content": m.Text, "message_type": "outgoing", "private": false}) {
		return total, ""
	}
	var posted struct {
		ID cwID `json:"id"`
	}
	if json.Unmarshal(answer, &posted) != nil {
		return total, ""
	}
	return total, string(posted.ID)
}

// Typing shows the bot as typing in the conversation while the answer is
// produced; Chatwoot's widget clears it when the reply arrives.
func (Chatwoot) Typing(ctx context.Context, call Caller, cfg *store.WebhookConfig, conv string) webhook.Result {
	u := cfg.APIURL + "/api/v1/accounts/" + url.PathEscape(cfg.Account) + "/conversations/" + url.PathEscape(conv) + "/toggle_typing_status"
	res, _ := chatwootCall(ctx, call, cfg, u, map[string]string{"typing_status": "on"})
	return res
}

func chatwootCall(ctx context.Context, call Caller, cfg *store.WebhookConfig, u string, body any) (webhook.Result, []byte) {
	b, err := json.Marshal(body)
	if err != nil {
		return webhook.Result{Err: fmt.Errorf("encode request: %w", err), Permanent: true}, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return webhook.Result{Err: fmt.Errorf("build request: %w (check api_url)", err), Permanent: true}, nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api_access_token", cfg.APIToken)
	return call.Call(ctx, cfg, req)
}
