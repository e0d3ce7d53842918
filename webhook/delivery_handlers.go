package webhook

import (
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
)

// DeliveryHandler serves the delivery endpoints of the management API.
type DeliveryHandler struct {
	deliveries *Deliveries
	log        *slog.Logger
}

// NewDeliveryHandler returns the handler over the delivery service.
func NewDeliveryHandler(d *Deliveries, log *slog.Logger) *DeliveryHandler {
	return &DeliveryHandler{deliveries: d, log: log}
}

// Routes mounts POST /api/webhook/messages/{id}/redeliver,
// POST /api/webhook/config/{id}/test and GET /api/webhook/breakers, all
// behind admin.
func (h *DeliveryHandler) Routes(r *mux.Router, admin func(http.Handler) http.Handler) {
	r.Handle("/api/webhook/messages/{id}/redeliver", admin(http.HandlerFunc(h.redeliver))).Methods(http.MethodPost)
	r.Handle("/api/webhook/config/{id}/test", admin(http.HandlerFunc(h.test))).Methods(http.MethodPost)
	r.Handle("/api/webhook/breakers", admin(http.HandlerFunc(h.listBreakers))).Methods(http.MethodGet)
}

type breakerList struct {
	Success  bool            `json:"success"`
	Breakers []BreakerStatus `json:"breakers"`
}

// listBreakers answers the state of every integration's delivery circuit
// breaker: the admin panel shows it beside each integration.
func (h *DeliveryHandler) listBreakers(w http.ResponseWriter, r *http.Request) {
	list, err := h.deliveries.Breakers()
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, breakerList{Success: true, Breakers: list})
}

type redeliverAnswer struct {
	Success bool `json:"success"`
	Redelivery
}

func (h *DeliveryHandler) redeliver(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	out, err := h.deliveries.Redeliver(id)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	h.log.InfoContext(r.Context(), "message queued for redelivery", "message_id", id, "webhook_id", out.WebhookID)
	httpapi.WriteJSON(w, http.StatusAccepted, redeliverAnswer{Success: true, Redelivery: out})
}

type testAnswer struct {
	Success bool `json:"success"`
	TestResult
}

func (h *DeliveryHandler) test(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	out, err := h.deliveries.Test(r.Context(), id)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	h.log.InfoContext(r.Context(), "test delivery", "config_id", id, "http_status", out.StatusCode,
		"delivered", out.Delivered, "duration_ms", out.DurationMS)
	httpapi.WriteJSON(w, http.StatusOK, testAnswer{Success: true, TestResult: out})
}
