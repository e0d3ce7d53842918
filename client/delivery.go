package client

import (
	"context"
	"net/http"
	"strconv"
)

// TestConfig asks the server to send a test payload to config id's
// outgoing URL and returns what it observed.
func (c *Client) TestConfig(ctx context.Context, id uint64) (TestResult, error) {
	var out struct {
		Success bool `json:"success"`
		TestResult
	}
	err := c.Do(ctx, http.MethodPost, "/api/webhook/config/"+strconv.FormatUint(id, 10)+"/test", nil, &out)
	return out.TestResult, err
}

// Redeliver queues a failed outgoing message again.
func (c *Client) Redeliver(ctx context.Context, messageID uint64) (Redelivery, error) {
	var out struct {
		Success bool `json:"success"`
		Redelivery
	}
	err := c.Do(ctx, http.MethodPost, "/api/webhook/messages/"+strconv.FormatUint(messageID, 10)+"/redeliver", nil, &out)
	return out.Redelivery, err
}
