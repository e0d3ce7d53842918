package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/store"
)

func TestIncomingAnswersAndRecords(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", "https://platform.example/hook"))
	res := h.post(t, token, validIncoming)
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %v", res.status, res.body)
	}
	got, _ := json.Marshal(res.body)
	want := `{"message_id":1,"response":{"answer":"Reset it under Settings \u003e Security.","response_type":"rag_knowledge_base",` +
		`"sources":[{"score":0.82,"source":"docs/account.md#reset","title":"Passwords"}],` +
		`"user_info":{"conversation_id":"conv_456","platform":"freshchat","user_id":"external_user_123","username":"John Doe"}},` +
		`"response_id":2,"success":true}`
	if string(got) != want {
		t.Fatalf("response\n got %s\nwant %s", got, want)
	}
	if calls := h.answerer.recorded(); len(calls) != 1 || calls[0] != (chat.Request{ConfigID: 1, Platform: "freshchat",
		ConversationID: "conv_456", UserID: "external_user_123", Username: "John Doe", Text: "Hello, I need help with my account",
		// The payload's metadata object, as sent (API tools' identity values).
		Metadata: `{"channel": "web", "user_agent": "curl", "custom_fields": {}}`}) {
		t.Fatalf("engine calls = %+v", calls)
	}
	ms := h.stored(t)
	if len(ms) != 2 {
		t.Fatalf("stored %d messages, want 2", len(ms))
	}
	out, in := ms[0], ms[1]
	if in.Type != store.MessageIncoming || in.Status != store.StatusReceived || in.UserID != "external_user_123" ||
		in.ConversationID != "conv_456" || in.Platform != "freshchat" || in.ResponseID != 2 || in.ResponseType != "rag_knowledge_base" || in.ConfigID != 1 {
		t.Errorf("incoming = %+v", in)
	}
	if out.Type != store.MessageOutgoing || out.Status != store.StatusPending || out.ReplyTo != 1 || out.SenderType != "bot" ||
		out.Text != "Reset it under Settings > Security." || len(out.Sources) != 1 || out.CreatedAt.IsZero() {
		t.Errorf("outgoing = %+v", out)
	}
	if s := h.in.Stats(); s.Accepted != 1 || s.Duplicates != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestIncomingWithoutOutgoingURLIsSent(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, cfgInput("Chatwoot", "chatwoot", ""))
	res := h.post(t, token, strings.Replace(validIncoming, `"platform": "freshchat",`, "", 1))
	if res.status != 200 || res.body["response_id"] != 2.0 {
		t.Fatalf("%d %v", res.status, res.body)
	}
	if out := h.stored(t)[0]; out.Status != store.StatusSent || out.Platform != "chatwoot" {
		t.Fatalf("outgoing = %+v", out)
	}
}

func TestIncomingAuth(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{AuthFailuresPerMinute: 1000})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", ""))
	inactive := h.addConfig(t, ConfigInput{Name: ptr("Old"), Provider: ptr("freshchat"), IsActive: ptr(false)})
	zendesk := h.addConfig(t, cfgInput("Zendesk", "zendesk", ""))
	flip := func(s string, i int) string {
		b := []byte(s)
		b[i] ^= 1
		return string(b)
	}
	cases := []struct {
		name   string
		auth   []string
		body   string
		status int
		msg    string
	}{
		{"no header", nil, validIncoming, 401, "missing Authorization"},
		{"basic scheme", []string{"Basic " + token}, validIncoming, 401, "Bearer <token>"},
		{"token scheme", []string{"Token " + token}, validIncoming, 401, "Bearer <token>"},
		{"lower-case bearer", []string{"bearer " + token}, validIncoming, 200, ""},
		{"first byte wrong", []string{"Bearer " + flip(token, 0)}, validIncoming, 401, "invalid incoming token"},
		{"last byte wrong", []string{"Bearer " + flip(token, len(token)-1)}, validIncoming, 401, "invalid incoming token"},
		{"empty token", []string{"Bearer "}, validIncoming, 401, "Bearer <token>"},
		{"one-byte token", []string{"Bearer x"}, validIncoming, 401, "invalid incoming token"},
		{"8 KB token", []string{"Bearer " + strings.Repeat("a", 8<<10)}, validIncoming, 401, "invalid incoming token"},
		{"two headers", []string{"Bearer " + token, "Bearer " + token}, validIncoming, 401, "exactly one"},
		{"inactive config", []string{"Bearer " + inactive}, validIncoming, 403, "inactive"},
		{"platform mismatch", []string{"Bearer " + zendesk}, validIncoming, 403, "does not match"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(h.stored(t))
			var hdr []string
			for _, a := range c.auth {
				hdr = append(hdr, "Authorization", a)
			}
			res := h.post(t, "", c.body, hdr...)
			if res.status != c.status {
				t.Fatalf("status %d, want %d: %v", res.status, c.status, res.body)
			}
			if c.status == 200 {
				return
			}
			if msg, _ := res.body["error"].(string); !strings.Contains(msg, c.msg) || res.body["success"] != false {
				t.Errorf("body %v, want error containing %q", res.body, c.msg)
			}
			if c.status == 401 && res.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if after := len(h.stored(t)); after != before {
				t.Errorf("a refused request stored %d messages", after-before)
			}
		})
	}
	// A rotated token stops working at once.
	if _, err := h.configs.Update(1, ConfigInput{RotateIncomingToken: true}); err != nil {
		t.Fatal(err)
	}
	if res := h.post(t, token, validIncoming); res.status != 401 {
		t.Fatalf("old token after rotation: %d", res.status)
	}
}

func TestIncomingBadInput(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", ""))
	set := func(field, raw string) string {
		var m map[string]json.RawMessage
		_ = json.Unmarshal([]byte(validIncoming), &m)
		if raw == "" {
			delete(m, field)
		} else {
			m[field] = json.RawMessage(raw)
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	msgOf := func(n int, unit string) string { return `"` + strings.Repeat(unit, n) + `"` }
	cases := []struct {
		name, ctype, body string
		hdr               []string
		status            int
		field, msg        string
	}{
		{"user_id missing", "", set("user_id", ""), nil, 400, "user_id", "user_id is required"},
		{"message missing", "", set("message", ""), nil, 400, "message", "message is required"},
		{"conversation_id missing", "", set("conversation_id", ""), nil, 400, "conversation_id", "conversation_id is required"},
		{"user_id null", "", set("user_id", "null"), nil, 400, "user_id", "required"},
		{"handoff not a boolean", "", set("handoff", `"yes"`), nil, 400, "handoff", "handoff"},
		{"message empty", "", set("message", `"  "`), nil, 400, "message", "must not be empty"},
		{"message null", "", set("message", "null"), nil, 400, "message", "required"},
		{"user_id object", "", set("user_id", `{"id":1}`), nil, 400, "user_id", "not an object"},
		{"user_id fraction", "", set("user_id", `1.5`), nil, 400, "user_id", "whole number"},
		{"conversation_id array", "", set("conversation_id", `[1]`), nil, 400, "conversation_id", "not an array"},
		{"message number", "", set("message", `42`), nil, 400, "message", "must be a string"},
		{"username too long", "", set("username", msgOf(300, "a")), nil, 400, "username", "at most 256"},
		{"bad timestamp", "", set("timestamp", `"yesterday"`), nil, 400, "timestamp", "RFC 3339"},
		{"metadata not object", "", set("metadata", `"web"`), nil, 400, "metadata", "must be an object"},
		{"unknown field", "", set("colour", `"red"`), nil, 400, "colour", "unknown field"},
		{"10,241 bytes", "", set("message", msgOf(10241, "a")), nil, 413, "message", "10241 bytes; the limit is 10240"},
		{"2,600 four-byte emoji", "", set("message", msgOf(2600, "😀")), nil, 413, "message", "10400 bytes"},
		{"5 MB body", "", set("metadata", `{"x":`+msgOf(5<<20, "a")+`}`), nil, 413, "", "limit"},
		{"invalid UTF-8", "", strings.Replace(validIncoming, "Hello", "Hel\xffo", 1), nil, 400, "", "UTF-8"},
		{"escaped NUL", "", set("message", `"a\u0000b"`), nil, 400, "message", "control characters"},
		{"raw NUL", "", strings.Replace(validIncoming, "Hello", "Hel\x00o", 1), nil, 400, "", "malformed"},
		{"NUL in user_id", "", set("user_id", `"a\u0000"`), nil, 400, "user_id", "control characters"},
		{"text/plain", "text/plain", validIncoming, nil, 415, "", "application/json"},
		{"gzip", "", validIncoming, []string{"Content-Encoding", "gzip"}, 415, "", "Content-Encoding"},
		{"malformed JSON", "", `{"user_id":`, nil, 400, "", "malformed"},
		{"trailing garbage", "", validIncoming + `x`, nil, 400, "", "after the JSON object"},
		{"deep nesting", "", strings.Replace(validIncoming, `{"channel"`, `{"a":`+strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+`, "channel"`, 1), nil, 400, "", "malformed"},
		{"empty body", "", ``, nil, 400, "", "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := c.hdr
			if c.ctype != "" {
				hdr = append(hdr, "Content-Type", "", "Content-Type", c.ctype)
			}
			res := h.post(t, token, c.body, hdr...)
			if res.status != c.status {
				t.Fatalf("status %d, want %d: %v", res.status, c.status, res.body)
			}
			if msg, _ := res.body["error"].(string); !strings.Contains(msg, c.msg) {
				t.Errorf("error %q does not contain %q", msg, c.msg)
			}
			if f, _ := res.body["field"].(string); f != c.field {
				t.Errorf("field %q, want %q", f, c.field)
			}
		})
	}
	if n := h.answerer.count(); n != 0 {
		t.Fatalf("engine called %d times for bad input", n)
	}
	if n := len(h.stored(t)); n != 0 {
		t.Fatalf("bad input stored %d messages", n)
	}
	if s := h.in.Stats(); s.TooLarge != 3 {
		t.Fatalf("too_large counter = %d, want 3", s.TooLarge)
	}

	// Accepted shapes: exactly 10,240 bytes, numeric ids as decimal strings.
	res := h.post(t, token, set("message", msgOf(10240, "a")))
	if res.status != 200 {
		t.Fatalf("10,240 bytes: %d %v", res.status, res.body)
	}
	res = h.post(t, token, set("user_id", `12345`))
	if res.status != 200 || res.body["response"].(map[string]any)["user_info"].(map[string]any)["user_id"] != "12345" {
		t.Fatalf("numeric user_id: %d %v", res.status, res.body)
	}
}

func TestIncomingRateLimitPerPlatform(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	fresh := h.addConfig(t, cfgInput("Freshchat", "freshchat", ""))
	zen := h.addConfig(t, cfgInput("Zendesk", "zendesk", ""))
	for i := range 100 {
		if res := h.post(t, fresh, validIncoming); res.status != 200 {
			t.Fatalf("request %d: %d %v", i+1, res.status, res.body)
		}
	}
	res := h.post(t, fresh, validIncoming)
	ra, err := strconv.Atoi(res.header.Get("Retry-After"))
	if res.status != 429 || err != nil || ra < 1 || ra > 60 {
		t.Fatalf("101st: %d Retry-After %q", res.status, res.header.Get("Retry-After"))
	}
	if res := h.post(t, zen, strings.Replace(validIncoming, "freshchat", "zendesk", 1)); res.status != 200 {
		t.Fatalf("other platform: %d", res.status)
	}
	h.clock.Add(time.Duration(ra) * time.Second)
	if res := h.post(t, fresh, validIncoming); res.status != 200 {
		t.Fatalf("after Retry-After: %d %v", res.status, res.body)
	}
	if s := h.in.Stats(); s.RateLimited != 1 || s.Accepted != 102 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestIncomingAuthFailuresDoNotSpendPlatformBudget(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{TrustedProxies: mustPrefixes("127.0.0.1/32")})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", ""))
	limited := 0
	count := func(status int) {
		switch status {
		case 429:
			limited++
		case 401:
		default:
			t.Fatalf("bad token: %d", status)
		}
	}
	// The first 100 over loopback, the rest straight into the handler
	// (the same code path, without 9,900 round trips under -race).
	for range 100 {
		count(h.post(t, "cbi_wrong", validIncoming, "X-Forwarded-For", "203.0.113.9").status)
	}
	for range 9900 {
		r := httptest.NewRequest(http.MethodPost, "/api/webhook/incoming", strings.NewReader(validIncoming))
		r.RemoteAddr = "127.0.0.1:40000"
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer cbi_wrong")
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
		rec := httptest.NewRecorder()
		h.in.ServeHTTP(rec, r)
		count(rec.Code)
	}
	if limited != 10000-authFailuresPerMinute {
		t.Fatalf("%d of 10000 bad-token requests rate limited, want %d", limited, 10000-authFailuresPerMinute)
	}
	for i := range 100 {
		if res := h.post(t, token, validIncoming, "X-Forwarded-For", "198.51.100.7"); res.status != 200 {
			t.Fatalf("platform request %d after the attack: %d %v", i+1, res.status, res.body)
		}
	}
}

func TestIncomingDuplicateMessageID(t *testing.T) {
	dir := t.TempDir()
	h := newInHarness(t, dir, IncomingOptions{})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", "https://platform.example/hook"))
	first := h.post(t, token, withMessageID("fc-1"))
	second := h.post(t, token, withMessageID("fc-1"))
	if first.status != 200 || second.status != 200 || second.body["duplicate"] != true ||
		second.body["message_id"] != first.body["message_id"] || second.body["response_id"] != first.body["response_id"] {
		t.Fatalf("first %v\nsecond %v", first.body, second.body)
	}
	a, _ := json.Marshal(first.body["response"])
	b, _ := json.Marshal(second.body["response"])
	if string(a) != string(b) {
		t.Fatalf("duplicate answered differently:\n%s\n%s", a, b)
	}
	if n := h.answerer.count(); n != 1 {
		t.Fatalf("engine called %d times, want 1", n)
	}
	if n := len(h.stored(t)); n != 2 {
		t.Fatalf("%d messages stored, want 2", n)
	}
	// Still a duplicate 72 hours later, after a restart.
	h.close(t)()
	h2 := newInHarness(t, dir, IncomingOptions{})
	h2.clock.Add(72 * time.Hour)
	third := h2.post(t, token, withMessageID("fc-1"))
	if third.status != 200 || third.body["duplicate"] != true || third.body["response_id"] != 2.0 || h2.answerer.count() != 0 {
		t.Fatalf("after restart: %d %v (engine calls %d)", third.status, third.body, h2.answerer.count())
	}
	_, total, _ := h2.st.ListMessages(store.MessageFilter{Status: store.StatusPending}, 0, 10)
	if total != 1 {
		t.Fatalf("%d pending deliveries, want 1", total)
	}
}

func TestIncomingSameMessageIDConcurrently(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", "https://platform.example/hook"))
	hold, entered := make(chan struct{}), make(chan struct{}, 10)
	h.answerer.with(func(f *fakeAnswerer) { f.hold, f.entered = hold, entered })
	var wg sync.WaitGroup
	results := make([]inResult, 5)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.post(t, token, withMessageID("same"))
		}()
	}
	<-entered // one of them is answering; the others wait or are duplicates
	close(hold)
	wg.Wait()
	if n := h.answerer.count(); n != 1 {
		t.Fatalf("engine called %d times, want exactly 1", n)
	}
	dups := 0
	for _, r := range results {
		if r.status != 200 || r.body["message_id"] != 1.0 || r.body["response_id"] != 2.0 {
			t.Fatalf("result %d %v", r.status, r.body)
		}
		if r.body["duplicate"] == true {
			dups++
		}
	}
	if dups != 4 {
		t.Fatalf("%d duplicates, want 4", dups)
	}
	if _, total, _ := h.st.ListMessages(store.MessageFilter{Type: store.MessageOutgoing}, 0, 10); total != 1 {
		t.Fatalf("%d outgoing messages, want 1", total)
	}
}

func TestIncomingEngineErrorThenRetryAnswers(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", ""))
	h.answerer.with(func(f *fakeAnswerer) { f.err = fmt.Errorf("ollama: connection refused") })
	res := h.post(t, token, withMessageID("m-9"))
	if res.status != 503 || res.header.Get("Retry-After") == "" || strings.Contains(fmt.Sprint(res.body), "ollama") {
		t.Fatalf("engine error: %d %v", res.status, res.body)
	}
	h.answerer.with(func(f *fakeAnswerer) { f.err = nil })
	res = h.post(t, token, withMessageID("m-9"))
	if res.status != 200 || res.body["message_id"] != 1.0 || res.body["response_id"] != 2.0 {
		t.Fatalf("retry: %d %v", res.status, res.body)
	}
	if n := len(h.stored(t)); n != 2 {
		t.Fatalf("%d messages, want 2 (the retry reuses the stored incoming message)", n)
	}
}

func TestIncomingLiveChatReplyStoresNoOutgoing(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", "https://platform.example/hook"))
	h.answerer.with(func(f *fakeAnswerer) { f.reply = chat.Reply{Type: chat.TypeLiveChatMessage, SessionID: "live_abc"} })
	res := h.post(t, token, validIncoming)
	if res.status != 200 || res.body["response_id"] != nil || res.body["response"].(map[string]any)["response_type"] != "live_chat_message" {
		t.Fatalf("%d %v", res.status, res.body)
	}
	ms := h.stored(t)
	if len(ms) != 1 || ms[0].SessionID != "live_abc" || ms[0].ResponseType != "live_chat_message" {
		t.Fatalf("stored %+v", ms)
	}
}

func TestIncomingAsync(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, ConfigInput{Name: ptr("Chatwoot"), Provider: ptr("chatwoot"),
		OutgoingURL: ptr("https://platform.example/hook"), ResponseMode: ptr("async")})
	hold := make(chan struct{})
	h.answerer.with(func(f *fakeAnswerer) { f.hold = hold })
	body := strings.Replace(withMessageID("cw-1"), `"platform": "freshchat",`, "", 1)
	res := h.post(t, token, body)
	got, _ := json.Marshal(res.body)
	if res.status != 202 || string(got) != `{"message_id":1,"success":true}` {
		t.Fatalf("async: %d %s", res.status, got)
	}
	dup := h.post(t, token, body) // while the first is still being answered
	if dup.status != 202 || dup.body["message_id"] != 1.0 || dup.body["duplicate"] != true {
		t.Fatalf("async duplicate: %d %v", dup.status, dup.body)
	}
	close(hold)
	if err := h.in.Close(context.Background()); err != nil { // waits for the background answer
		t.Fatal(err)
	}
	ms := h.stored(t)
	if len(ms) != 2 || ms[0].Status != store.StatusPending || ms[0].ReplyTo != 1 || h.answerer.count() != 1 {
		t.Fatalf("after async answer: %+v (engine calls %d)", ms, h.answerer.count())
	}
	if res := h.post(t, token, strings.Replace(body, "cw-1", "cw-2", 1)); res.status != 503 {
		t.Fatalf("async after Close: %d", res.status)
	}
}

func TestIncomingAsyncPanicIsRecovered(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, ConfigInput{Name: ptr("Chatwoot"), Provider: ptr("chatwoot"), ResponseMode: ptr("async")})
	h.answerer.with(func(f *fakeAnswerer) { f.panics = true })
	if res := h.post(t, token, strings.Replace(validIncoming, `"platform": "freshchat",`, "", 1)); res.status != 202 {
		t.Fatalf("%d", res.status)
	}
	if err := h.in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ms := h.stored(t); len(ms) != 1 || ms[0].ResponseID != 0 {
		t.Fatalf("stored %+v", ms)
	}
}

func TestIncomingConcurrencyCap(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{MaxConcurrent: 1, MaxQueued: 1})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", ""))
	hold, entered := make(chan struct{}), make(chan struct{}, 10)
	h.answerer.with(func(f *fakeAnswerer) { f.hold, f.entered = hold, entered })
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res := h.post(t, token, validIncoming); res.status != 200 {
				t.Errorf("admitted request: %d %v", res.status, res.body)
			}
		}()
	}
	<-entered // one answering
	for h.in.gate.admitted.Load() < 2 {
		runtime.Gosched() // the second request is on its way to waiting for the slot
	}
	res := h.post(t, token, validIncoming)
	if res.status != 503 || res.header.Get("Retry-After") != "5" {
		t.Fatalf("over the cap: %d %v", res.status, res.header)
	}
	close(hold)
	wg.Wait()
	if s := h.in.Stats(); s.Overloaded != 1 || s.Accepted != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func mustPrefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(s))
	for _, v := range s {
		p, err := parseIPOrPrefix(v)
		if err != nil {
			panic(err)
		}
		out = append(out, p)
	}
	return out
}

// A store that cannot be written (here: opened read-only; in production a
// full disk) gets 503 with Retry-After, never a 2xx or a 500.
func TestIncomingStorageFailureIs503(t *testing.T) {
	dir := t.TempDir()
	h := newInHarness(t, dir, IncomingOptions{})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", ""))
	h.close(t)()
	st, err := store.Open(dir, store.Options{ReadOnly: true, Sealer: testBox()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	in := NewIncoming(st, conversation.New(st, &fakeAnswerer{}, conversation.Options{}), quietLog(), IncomingOptions{})
	srv := httptest.NewServer(in)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(validIncoming))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "5" || body["error"] != "could not store the message; retry later" {
		t.Fatalf("%d %v %v", resp.StatusCode, resp.Header, body)
	}
}

// Logs trace each request at debug level without the token, the
// signature secret or the message text.
func TestIncomingLogsNoSecrets(t *testing.T) {
	var logs syncBuffer
	h := newInHarness(t, "", IncomingOptions{}, &logs)
	in := cfgInput("Freshchat", "freshchat", "")
	in.IncomingSecret = ptr(katSecret)
	token := h.addConfig(t, in)
	now := h.clock.Now().Unix()
	sig := sign(katSecret, "msg_1", now, validIncoming)
	if res := h.post(t, token, validIncoming, "webhook-id", "msg_1", "webhook-timestamp", strconv.FormatInt(now, 10), "webhook-signature", sig); res.status != 200 {
		t.Fatal(res.body)
	}
	// A wrong token one character off (a token that already ends in "x"
	// would make "x" the right one: 1 run in 64 failed that way).
	wrong := token[:len(token)-1] + "x"
	if wrong == token {
		wrong = token[:len(token)-1] + "y"
	}
	h.post(t, wrong, validIncoming)
	h.post(t, token, validIncoming) // unsigned
	out := logs.String()
	for _, secret := range []string{token, wrong, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", sig[3:], "Hello, I need help"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"msg":"incoming webhook accepted"`, `"msg":"message answered"`, `"reason":"unknown token"`, `"reason":"bad signature"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// An async message accepted with 202 but not answered before a stop is
// answered after the restart; unanswered sync messages are left to the
// platform's retry.
func TestIncomingAsyncResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	h := newInHarness(t, dir, IncomingOptions{})
	async := h.addConfig(t, ConfigInput{Name: ptr("Chatwoot"), Provider: ptr("chatwoot"),
		OutgoingURL: ptr("https://platform.example/hook"), ResponseMode: ptr("async")})
	sync := h.addConfig(t, cfgInput("Freshchat", "freshchat", ""))
	hold, entered := make(chan struct{}), make(chan struct{}, 1)
	h.answerer.with(func(f *fakeAnswerer) { f.hold, f.entered = hold, entered })
	if res := h.post(t, async, strings.Replace(validIncoming, `"platform": "freshchat",`, "", 1)); res.status != 202 {
		t.Fatal(res.body)
	}
	<-entered // the async answer is held; the sync one fails at once
	h.answerer.with(func(f *fakeAnswerer) { f.entered, f.hold, f.err = nil, nil, fmt.Errorf("engine down") })
	if res := h.post(t, sync, validIncoming); res.status != 503 {
		t.Fatal(res.body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = h.in.Close(ctx)                                      // gives up on the held answer
	if err := h.in.Close(context.Background()); err != nil { // and waits for it to end
		t.Fatal(err)
	}
	h.close(t)()

	h2 := newInHarness(t, dir, IncomingOptions{})
	n, err := h2.in.ResumeAsync()
	if err != nil || n != 1 {
		t.Fatalf("ResumeAsync = %d, %v; want 1", n, err)
	}
	if err := h2.in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := h2.answerer.recorded()
	if len(calls) != 1 || calls[0].Platform != "chatwoot" {
		t.Fatalf("engine calls after restart: %+v", calls)
	}
	out, total, _ := h2.st.ListMessages(store.MessageFilter{Type: store.MessageOutgoing}, 0, 10)
	if total != 1 || out[0].ReplyTo != 1 || out[0].Status != store.StatusPending {
		t.Fatalf("outgoing after restart: %+v", out)
	}
	if left, _ := h2.st.Unanswered(10); len(left) != 0 {
		t.Fatalf("still unanswered: %+v", left)
	}
}

// A chunked body with no length is cut at the cap: 413, memory bounded.
func TestIncomingChunkedBodyOverCap(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", ""))
	big := io.MultiReader(strings.NewReader(`{"user_id":"u","conversation_id":"c","message":"`),
		io.LimitReader(neverEnding('a'), 50<<20), strings.NewReader(`"}`))
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/api/webhook/incoming", big)
	req.ContentLength = -1 // chunked
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res := h.do(t, req)
	if res.status != 413 || !strings.Contains(res.body["error"].(string), "over the limit") {
		t.Fatalf("%d %v", res.status, res.body)
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// An engine that panics in a sync answer costs that request (500 from the
// recovering middleware), not the answer slot.
func TestIncomingSyncPanicFreesTheSlot(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{MaxConcurrent: 1, MaxQueued: 1})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", ""))
	h.answerer.with(func(f *fakeAnswerer) { f.panics = true })
	if res := h.post(t, token, validIncoming); res.status != 500 {
		t.Fatalf("panicking engine: %d", res.status)
	}
	h.answerer.with(func(f *fakeAnswerer) { f.panics = false })
	for i := range 3 {
		if res := h.post(t, token, validIncoming); res.status != 200 {
			t.Fatalf("request %d after the panic: %d %v", i+1, res.status, res.body)
		}
	}
}

// The platform's own "talk to a human" button reaches the engine, also
// when the answer is produced later (async): it is stored with the message.
func TestIncomingHandoffFlagReachesTheEngine(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", ""))
	body := strings.Replace(validIncoming, `"metadata"`, `"handoff": true, "metadata"`, 1)
	if res := h.post(t, token, body); res.status != http.StatusOK {
		t.Fatalf("status %d: %v", res.status, res.body)
	}
	if calls := h.answerer.recorded(); len(calls) != 1 || !calls[0].Handoff {
		t.Fatalf("engine calls = %+v, want Handoff", calls)
	}
	if ms := h.stored(t); !ms[len(ms)-1].Handoff {
		t.Fatalf("stored incoming message lost the flag: %+v", ms[len(ms)-1])
	}
}

// A synchronous answer says how long answering took, to the microsecond,
// in a Server-Timing header; a retry answered from the store says nothing.
func TestIncomingServerTiming(t *testing.T) {
	h := newInHarness(t, t.TempDir(), IncomingOptions{})
	h.answerer.with(func(f *fakeAnswerer) { f.reply.Total = 1734 * time.Microsecond })
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", "https://platform.example/hook"))
	first := h.post(t, token, withMessageID("fc-1"))
	if got := first.header.Get("Server-Timing"); first.status != 200 || got != "answer;dur=1.734" {
		t.Fatalf("first answer: %d, Server-Timing %q; want answer;dur=1.734", first.status, got)
	}
	second := h.post(t, token, withMessageID("fc-1"))
	if got := second.header.Get("Server-Timing"); second.status != 200 || got != "" {
		t.Fatalf("duplicate: %d, Server-Timing %q; want none", second.status, got)
	}
}
