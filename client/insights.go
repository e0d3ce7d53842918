package client

import (
	"context"
	"net/http"
)

// PurgeReport counts what a purge of one user removed (store.PurgeReport).
type PurgeReport struct {
	UserID           string `json:"user_id"`
	Conversations    int    `json:"conversations"`
	Messages         int    `json:"messages"`
	Memories         int    `json:"memories"`
	Feedback         int    `json:"feedback"`
	LiveChatSessions int    `json:"live_chat_sessions"`
	Deliveries       int    `json:"deliveries"`
	DedupeKeys       int    `json:"dedupe_keys"`
	Outcomes         int    `json:"outcomes"`
	GapQuestions     int    `json:"gap_questions"`
}

// PurgeUser deletes everything the server keeps about one user
// (POST /api/conversations/purge) and reports what it removed.
func (c *Client) PurgeUser(ctx context.Context, userID string) (PurgeReport, error) {
	var out struct {
		Success bool        `json:"success"`
		Purged  PurgeReport `json:"purged"`
	}
	err := c.Do(ctx, http.MethodPost, "/api/conversations/purge", map[string]string{"user_id": userID}, &out)
	return out.Purged, err
}
