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

// Send replies to the conversation as the bot's admin. A hand-off notice
// with native hand-off first assigns the conversation (to handoff_target,
// or by the workspace's assignment rules); repeating that on a retry
// leaves the same assignment.
func (Intercom) Send(ctx context.Context, call Caller, cfg *store.WebhookConfig, m *store.Message) (webhook.Result, string) {
	base := cfg.APIURL + "/conversations/" + url.PathEscape(m.ConversationID)
	if m.ResponseType == TypeHandoff && cfg.Handoff != store.HandoffConsole {
		var res webhook.Result
		if cfg.HandoffTarget != "" {
			res, _ = intercomCall(ctx, call, cfg, base+"/parts", map[string]string{"message_type": "assignment", "type": "admin",
				"admin_id": cfg.BotID, "assignee_id": cfg.HandoffTarget})
		} else {
			res, _ = intercomCall(ctx, call, cfg, base+"/run_assignment_rules", map[string]string{})
		}
		if !res.OK() {
			return res, ""
		}
	}
	res, answer := intercomCall(ctx, call, cfg, base+"/reply", map[string]string{"message_type": "comment", "type": "admin",
		"admin_id": cfg.BotID, "body": webhook.PlainText(m.Text)})
	if !res.OK() {
		return res, ""
	}
	// The answer is the conversation; its newest part is the reply.
	var conv struct {
		Parts struct {
			Parts []icPart `json:"conversation_parts"`
		} `json:"conversation_parts"`
	}
	if json.Unmarshal(answer, &conv) != nil || len(conv.Parts.Parts) == 0 {
		return res, ""
	}
	return res, string(conv.Parts.Parts[len(conv.Parts.Parts)-1].ID)
}

func intercomCall(ctx context.Context, call Caller, cfg *store.WebhookConfig, u string, body any) (webhook.Result, []byte) {
	b, err := json.Marshal(body)
	if err != nil {
		return webhook.Result{Err: fmt.Errorf("encode request: %w", err), Permanent: true}, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return webhook.Result{Err: fmt.Errorf("build request: %w (check api_url)", err), Permanent: true}, nil
	}
	req.Header.Set("Authorization", "Bearer "+cfg.APIToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return call.Call(ctx, cfg, req)
}
