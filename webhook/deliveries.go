package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/store"
)

// Deliveries is the delivery service behind the API and the CLI:
// redelivering a failed message and sending a test payload.
type Deliveries struct {
	store    *store.Store
	sender   *Sender
	notify   func()
	breakers func() ([]BreakerStatus, error)
}

// WithBreakers makes Breakers report fn's list (the worker's Breakers).
func (d *Deliveries) WithBreakers(fn func() ([]BreakerStatus, error)) *Deliveries {
	d.breakers = fn
	return d
}

// Breakers is the delivery circuit breaker of every integration; empty
// when no worker runs in this process.
func (d *Deliveries) Breakers() ([]BreakerStatus, error) {
	if d.breakers == nil {
		return []BreakerStatus{}, nil
	}
	list, err := d.breakers()
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "delivery circuit breakers: storage error")
	}
	return list, nil
}

// NewDeliveries returns the service; notify (may be nil) wakes the worker
// after a job is queued.
func NewDeliveries(st *store.Store, sender *Sender, notify func()) *Deliveries {
	if notify == nil {
		notify = func() {}
	}
	return &Deliveries{store: st, sender: sender, notify: notify}
}

// Redelivery is the answer to a redelivery request.
type Redelivery struct {
	MessageID uint64       `json:"message_id"`
	WebhookID string       `json:"webhook_id"`
	Status    store.Status `json:"status"`
}

// Redeliver queues a failed outgoing message again with its webhook-id.
func (d *Deliveries) Redeliver(id uint64) (Redelivery, error) {
	job, err := d.store.RedeliverMessage(id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Redelivery{}, apperr.New(apperr.NotFound, "message %d not found", id)
	case errors.Is(err, store.ErrConflict):
		return Redelivery{}, apperr.New(apperr.Conflict, "message %d cannot be redelivered: only a failed outgoing message that is not queued can", id)
	case err != nil:
		return Redelivery{}, apperr.Wrap(apperr.Internal, err, "redeliver message %d: storage error", id)
	}
	d.notify()
	return Redelivery{MessageID: id, WebhookID: job.WebhookID, Status: store.StatusPending}, nil
}

// TestResult is what a test delivery observed.
type TestResult struct {
	Delivered  bool    `json:"delivered"`
	StatusCode int     `json:"status_code"`
	DurationMS float64 `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
	WebhookID  string  `json:"webhook_id"`
}

// Test sends one test payload to config id's outgoing URL, without retries
// and without touching the queue.
func (d *Deliveries) Test(ctx context.Context, id uint64) (TestResult, error) {
	cfg, err := d.store.Config(id)
	if err != nil {
		return TestResult{}, storeError(err, fmt.Sprintf("webhook config %d", id))
	}
	if cfg.OutgoingURL == "" {
		return TestResult{}, apperr.Invalidf("outgoing_webhook_url", "webhook config %q has no outgoing_webhook_url to test", cfg.Name)
	}
	webhookID := store.NewWebhookID()
	body, err := encodePayload(Payload{
		UserID: "chatbot_test", ConversationID: "chatbot_test", Platform: cfg.Provider,
		Message:      "Test delivery from chatbot: if you can read this, the outgoing webhook works.",
		ResponseType: "test", Sender: "Assistant", SenderType: "system",
		Timestamp: d.store.Now().UTC().Format(time.RFC3339), Sources: []store.MessageSource{},
	})
	if err != nil {
		return TestResult{}, apperr.Wrap(apperr.Internal, err, "encode test payload")
	}
	res := d.sender.Send(ctx, cfg, webhookID, body)
	return TestResult{
		Delivered: res.OK(), StatusCode: res.StatusCode, Error: errText(res.Err), WebhookID: webhookID,
		DurationMS: float64(res.Duration.Microseconds()) / 1000,
	}, nil
}
