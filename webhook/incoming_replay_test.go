package webhook

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

// signedHarness has one signed integration (sync, with an outgoing URL)
// and returns its token.
func signedHarness(t *testing.T, mode string) (*inHarness, string) {
	h := newInHarness(t, "", IncomingOptions{})
	in := cfgInput("Signed", "freshchat", "https://platform.example/hook")
	in.IncomingSecret = ptr(katSecret)
	in.ResponseMode = ptr(mode)
	return h, h.addConfig(t, in)
}

func (h *inHarness) postSigned(t *testing.T, token, id, body string) inResult {
	t.Helper()
	ts := h.clock.Now().Unix()
	return h.post(t, token, body, "webhook-id", id, "webhook-timestamp", strconv.FormatInt(ts, 10),
		"webhook-signature", sign(katSecret, id, ts, body))
}

func (h *inHarness) deliveryJobs(t *testing.T) int {
	t.Helper()
	keys, err := h.st.BucketKeys()
	if err != nil {
		t.Fatal(err)
	}
	return keys["delivery_jobs"]
}

// A signed request replayed within the tolerance (same webhook-id, same
// signature; no message_id for the store to dedupe on) is answered with
// the first result: no second answer, no second delivery.
func TestIncomingSignedReplayIsADuplicate(t *testing.T) {
	h, token := signedHarness(t, "sync")
	first := h.postSigned(t, token, "msg_replayed", validIncoming)
	if first.status != 200 || first.body["duplicate"] != nil {
		t.Fatalf("first: %d %v", first.status, first.body)
	}
	h.clock.Add(SignatureTolerance - time.Second) // the same headers still pass the timestamp check
	ts := h.clock.Now().Add(-SignatureTolerance + time.Second).Unix()
	replay := h.post(t, token, validIncoming, "webhook-id", "msg_replayed", "webhook-timestamp", strconv.FormatInt(ts, 10),
		"webhook-signature", sign(katSecret, "msg_replayed", ts, validIncoming))
	if replay.status != 200 || replay.body["duplicate"] != true || replay.body["message_id"] != first.body["message_id"] ||
		replay.body["response_id"] != first.body["response_id"] {
		t.Fatalf("replay: %d %v\nfirst: %v", replay.status, replay.body, first.body)
	}
	fa, ra := first.body["response"].(map[string]any), replay.body["response"].(map[string]any)
	if fa["answer"] != ra["answer"] || ra["answer"] != "Reset it under Settings > Security." {
		t.Fatalf("replay answer %v, first %v", ra, fa)
	}
	if n := h.answerer.count(); n != 1 {
		t.Fatalf("engine asked %d times, want 1", n)
	}
	if n := len(h.stored(t)); n != 2 {
		t.Fatalf("%d messages stored, want 2 (the message and its answer)", n)
	}
	if n := h.deliveryJobs(t); n != 1 {
		t.Fatalf("%d deliveries queued, want 1", n)
	}
	if s := h.in.Stats(); s.Accepted != 1 || s.Duplicates != 1 {
		t.Fatalf("stats %+v", s)
	}
	// A new webhook-id with the same body is a new message.
	if res := h.postSigned(t, token, "msg_next", validIncoming); res.status != 200 || res.body["duplicate"] != nil {
		t.Fatalf("next webhook-id: %d %v", res.status, res.body)
	}
}

// Async: the replay gets the first 202 and its message id; one answer.
func TestIncomingSignedReplayAsync(t *testing.T) {
	h, token := signedHarness(t, "async")
	first := h.postSigned(t, token, "msg_async", validIncoming)
	if first.status != 202 {
		t.Fatalf("first: %d %v", first.status, first.body)
	}
	replay := h.postSigned(t, token, "msg_async", validIncoming)
	if replay.status != 202 || replay.body["duplicate"] != true || replay.body["message_id"] != first.body["message_id"] {
		t.Fatalf("replay: %d %v", replay.status, replay.body)
	}
	h.close(t)()
	if n := h.answerer.count(); n != 1 {
		t.Fatalf("engine asked %d times, want 1", n)
	}
}

// Webhook-ids are scoped per integration: the same id from another
// integration is its own message.
func TestIncomingReplayMemoryIsPerIntegration(t *testing.T) {
	h, token := signedHarness(t, "sync")
	in := cfgInput("Other", "freshchat", "")
	in.IncomingSecret = ptr(katSecret)
	other := h.addConfig(t, in)
	a := h.postSigned(t, token, "msg_same", validIncoming)
	b := h.postSigned(t, other, "msg_same", validIncoming)
	if a.status != 200 || b.status != 200 || b.body["duplicate"] != nil || a.body["message_id"] == b.body["message_id"] {
		t.Fatalf("a %d %v\nb %d %v", a.status, a.body, b.status, b.body)
	}
	if n := h.answerer.count(); n != 2 {
		t.Fatalf("engine asked %d times, want 2", n)
	}
}

// A first delivery that failed is not remembered: the sender's retry with
// the same webhook-id is answered afresh.
func TestIncomingSignedRetryAfterFailureIsAnswered(t *testing.T) {
	h, token := signedHarness(t, "sync")
	h.answerer.with(func(f *fakeAnswerer) { f.err = errors.New("engine down") })
	if res := h.postSigned(t, token, "msg_retry", validIncoming); res.status != 503 {
		t.Fatalf("first: %d %v", res.status, res.body)
	}
	h.answerer.with(func(f *fakeAnswerer) { f.err = nil })
	if res := h.postSigned(t, token, "msg_retry", validIncoming); res.status != 200 || res.body["duplicate"] != nil {
		t.Fatalf("retry: %d %v", res.status, res.body)
	}
	if n := h.answerer.count(); n != 2 {
		t.Fatalf("engine asked %d times, want 2", n)
	}
}

// The memory is bounded and forgets entries once no replay could pass the
// timestamp check.
func TestReplayMemoryIsBounded(t *testing.T) {
	rs := newReplays()
	rs.max = 100
	now := time.Unix(1_700_000_000, 0)
	for i := range 1000 {
		e, first := rs.claim(1, "id"+strconv.Itoa(i), now)
		if !first {
			t.Fatalf("id %d seen before", i)
		}
		rs.finish(e, uint64(i+1))
		if n := rs.len(); n > 100 {
			t.Fatalf("%d entries after %d claims", n, i+1)
		}
	}
	e, _ := rs.claim(2, "fresh", now)
	rs.finish(e, 7)
	if again, first := rs.claim(2, "fresh", now.Add(2*SignatureTolerance-time.Second)); first || again.messageID != 7 {
		t.Fatalf("replay inside the window: first=%v id=%d", first, again.messageID)
	}
	later := now.Add(2 * SignatureTolerance)
	if _, first := rs.claim(3, "late", later); !first {
		t.Fatal("new id not first")
	}
	if n := rs.len(); n != 1 {
		t.Fatalf("%d entries after the window, want 1 (only the new one)", n)
	}
}
