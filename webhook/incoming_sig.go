package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chatbot/chatbot/apperr"
)

// Incoming signatures follow Standard Webhooks: the sender computes
// base64(HMAC-SHA256(key, id + "." + timestamp + "." + raw body)) and sends
// it as "v1,<sig>" (several space-separated entries allowed) with the
// webhook-id and webhook-timestamp headers. Only the raw bytes verify;
// the body is never re-serialised first.
const (
	// SignatureTolerance is how far webhook-timestamp may be from now.
	SignatureTolerance = 5 * time.Minute
	minIncomingKeyLen  = 24
	maxWebhookIDLen    = 256
)

// incomingKey decodes an incoming secret "whsec_<base64>" and checks that
// the key has at least 24 bytes.
func incomingKey(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, errors.New(`must be "whsec_" followed by base64`)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, errors.New(`must be "whsec_" followed by base64`)
	}
	if len(key) < minIncomingKeyLen {
		return nil, errors.New("must hold at least 24 bytes of key (after base64 decoding)")
	}
	return key, nil
}

// verifyIncoming checks the Standard Webhooks headers of r against body.
// A malformed timestamp is Invalid (400); a missing, stale or wrong
// signature is Unauthorized (401).
func verifyIncoming(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := incomingKey(secret)
	if err != nil {
		return apperr.Wrap(apperr.Internal, err, "stored incoming secret is unusable")
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return apperr.New(apperr.Unauthorized, "this integration requires signed requests: send webhook-id, webhook-timestamp and webhook-signature")
	}
	if strings.Contains(id, ".") || len(id) > maxWebhookIDLen {
		return apperr.New(apperr.Unauthorized, "webhook-id must not contain '.' and must be at most %d bytes", maxWebhookIDLen)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || unix < 0 || strings.HasPrefix(ts, "+") {
		return apperr.Invalidf("webhook-timestamp", "webhook-timestamp must be whole seconds since 1970 (an integer)")
	}
	sent := time.Unix(min(unix, math.MaxInt64/int64(time.Second)), 0) // no overflow in Sub
	if d := now.Sub(sent); d > SignatureTolerance || d < -SignatureTolerance {
		return apperr.New(apperr.Unauthorized, "webhook-timestamp is more than %v away from the server's time", SignatureTolerance)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" || sig == "" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return apperr.New(apperr.Unauthorized, "webhook-signature does not match the body")
}
