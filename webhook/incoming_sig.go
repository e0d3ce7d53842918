package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
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

// maxReplayEntries bounds the replay memory. Only requests with a valid
// signature add entries, so it holds what the integrations sent in the
// last 2 × SignatureTolerance; past it, arbitrary finished entries go.
const maxReplayEntries = 50000

// replays remembers the webhook-id of every signed request, per
// integration, for as long as a replay of it could pass the timestamp
// check: a request is accepted from ts-tolerance to ts+tolerance, so
// 2 × SignatureTolerance after it was first seen. A replay is answered
// with the first request's stored result, never answered again.
//
// The memory is in this process only: a replay that arrives after a
// restart but within the tolerance is answered again, unless its body
// carries a message_id (the store dedupes those across restarts).
type replays struct {
	mu        sync.Mutex
	m         map[replayKey]*replay
	max       int
	nextSweep time.Time // expired entries are dropped at most this often
}

type replayKey struct {
	config uint64
	id     string
}

// replay is one remembered webhook-id. done is closed when the first
// request has been answered; messageID is then the stored message it
// produced (0 when it failed: the entry is dropped so a retry with the
// same webhook-id is handled afresh, as Standard Webhooks senders retry).
type replay struct {
	key       replayKey
	expires   time.Time
	done      chan struct{}
	messageID uint64
}

func newReplays() *replays { return &replays{m: map[replayKey]*replay{}, max: maxReplayEntries} }

// claim returns the entry of (config, id) and whether the caller is the
// first, who must call finish.
func (rs *replays) claim(config uint64, id string, now time.Time) (*replay, bool) {
	key := replayKey{config, id}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if e, ok := rs.m[key]; ok && now.Before(e.expires) {
		return e, false
	}
	if len(rs.m) >= rs.max || !now.Before(rs.nextSweep) {
		rs.evictLocked(now)
		rs.nextSweep = now.Add(SignatureTolerance)
	}
	e := &replay{key: key, expires: now.Add(2 * SignatureTolerance), done: make(chan struct{})}
	rs.m[key] = e
	return e, true
}

func (rs *replays) evictLocked(now time.Time) {
	for k, e := range rs.m {
		if !now.Before(e.expires) {
			delete(rs.m, k)
		}
	}
	for k, e := range rs.m { // still full: finished entries, in map (random) order
		if len(rs.m) < rs.max*9/10+1 {
			return
		}
		select {
		case <-e.done:
			delete(rs.m, k)
		default:
		}
	}
}

// finish records the first request's outcome and wakes its replays.
func (rs *replays) finish(e *replay, messageID uint64) {
	rs.mu.Lock()
	e.messageID = messageID
	if messageID == 0 && rs.m[e.key] == e {
		delete(rs.m, e.key)
	}
	rs.mu.Unlock()
	close(e.done)
}

func (rs *replays) len() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.m)
}

// firstResult is what the first signed request of a webhook-id answered:
// its status and the message_id of its JSON body. It sees the answer on
// its way out, so the handler needs no hook of its own.
type firstResult struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

// maxRecorded bounds the copy of an answer kept to read its message_id.
const maxRecorded = 1 << 20

func (f *firstResult) WriteHeader(code int) {
	if f.status == 0 {
		f.status = code
	}
	f.ResponseWriter.WriteHeader(code)
}

func (f *firstResult) Write(b []byte) (int, error) {
	if f.status == 0 {
		f.status = http.StatusOK
	}
	if f.body.Len()+len(b) <= maxRecorded {
		f.body.Write(b)
	}
	return f.ResponseWriter.Write(b)
}

func (f *firstResult) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// messageID is the stored message the answer names, or 0 when the request
// was not taken (an error, or an answer too large to have been copied).
func (f *firstResult) messageID() uint64 {
	if f.status != http.StatusOK && f.status != http.StatusAccepted {
		return 0
	}
	var out struct {
		MessageID uint64 `json:"message_id"`
	}
	if json.Unmarshal(f.body.Bytes(), &out) != nil {
		return 0
	}
	return out.MessageID
}

// answerReplay answers a replayed signed request with what its first
// delivery stored: no second answer, no second outgoing delivery. It
// waits while the first is still being answered.
func (in *Incoming) answerReplay(w http.ResponseWriter, r *http.Request, cfg *store.WebhookConfig, e *replay) {
	select {
	case <-e.done:
	case <-r.Context().Done():
		return // the client is gone
	}
	if e.messageID == 0 {
		in.fail(w, r, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: 1,
			Message: "the first delivery of this webhook-id failed or is still being processed; retry later"})
		return
	}
	first, err := in.store.Message(e.messageID)
	if err != nil {
		in.fail(w, r, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: overloadRetryAfter, Err: err,
			Message: "could not read the first delivery of this webhook-id; retry later"})
		return
	}
	a := &conversation.Accepted{Message: first, Duplicate: true}
	if first.ResponseID != 0 {
		if a.Reply, err = in.store.Message(first.ResponseID); err != nil && !errors.Is(err, store.ErrNotFound) {
			in.fail(w, r, &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: overloadRetryAfter, Err: err,
				Message: "could not read the first answer of this webhook-id; retry later"})
			return
		}
	}
	in.log.InfoContext(r.Context(), "signed incoming webhook replayed; answered as a duplicate", "request_id", httpapi.RequestID(r.Context()),
		"config_id", cfg.ID, "message_id", first.ID)
	if cfg.ResponseMode == store.ResponseAsync {
		in.counters.duplicates.Add(1)
		httpapi.WriteJSON(w, http.StatusAccepted, incomingResponse{Success: true, MessageID: first.ID, Duplicate: true})
		return
	}
	in.writeDuplicate(w, r, a)
}
