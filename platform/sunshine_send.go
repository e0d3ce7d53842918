package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// Send posts m to the conversation as the business through the Sunshine
// Conversations API. A hand-off notice with native hand-off first passes
// the switchboard's control (to handoff_target, default "next"); a retry
// after the notice failed passes it again, which leaves it where it is.
func (Sunshine) Send(ctx context.Context, call Caller, cfg *store.WebhookConfig, m *store.Message) (webhook.Result, string) {
	base := cfg.APIURL + "/v2/apps/" + url.PathEscape(cfg.Account) + "/conversations/" + url.PathEscape(m.ConversationID)
	if m.ResponseType == TypeHandoff && cfg.Handoff != store.HandoffConsole {
		target := cfg.HandoffTarget
		if target == "" {
			target = "next"
		}
		res, _ := sunshineCall(ctx, call, cfg, base+"/passControl", map[string]any{"switchboardIntegration": target})
		if !res.OK() {
			return res, ""
		}
	}
	res, answer := sunshineCall(ctx, call, cfg, base+"/messages", map[string]any{
		"author": map[string]string{"type": "business"}, "content": map[string]string{"type": "text", "text": webhook.PlainText(m.Text)}})
	if !res.OK() {
		return res, ""
	}
	var posted struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if json.Unmarshal(answer, &posted) != nil || len(posted.Messages) == 0 {
		return res, ""
	}
	return res, posted.Messages[0].ID
}

func sunshineCall(ctx context.Context, call Caller, cfg *store.WebhookConfig, u string, body any) (webhook.Result, []byte) {
	b, err := json.Marshal(body)
	if err != nil {
		return webhook.Result{Err: fmt.Errorf("encode request: %w", err), Permanent: true}, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return webhook.Result{Err: fmt.Errorf("build request: %w (check api_url)", err), Permanent: true}, nil
	}
	keyID, secret, _ := strings.Cut(cfg.APIToken, ":")
	req.SetBasicAuth(keyID, secret)
	req.Header.Set("Content-Type", "application/json")
	return call.Call(ctx, cfg, req)
}
