package platform

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

const fcToken = "fc-api-key-SECRET-3141"

// fcKey is the test's stand-in for Freshchat's webhook key pair.
var fcKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func fcPublicPEM(t *testing.T, k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func fcSign(k *rsa.PrivateKey, body []byte) http.Header {
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return http.Header{"X-Freshchat-Signature": {base64.StdEncoding.EncodeToString(sig)}}
}

// newFreshchatHarness is the harness with a freshchat integration: the bot
// replies as agent agent-bot-7001.
func newFreshchatHarness(t *testing.T, edit func(in *webhook.ConfigInput)) *harness {
	hs := newHarness(t, func(in *webhook.ConfigInput) {
		in.Name, in.Provider, in.Account, in.APIToken, in.BotID = ptr("Freshchat"), ptr("freshchat"), nil, ptr(fcToken), ptr("agent-bot-7001")
		in.APIURL = ptr(*in.APIURL + "/v2")
		in.PlatformSecret = ptr(fcPublicPEM(t, fcKey()))
		if edit != nil {
			edit(in)
		}
	})
	hs.sign = func(body []byte) http.Header { return fcSign(fcKey(), body) }
	return hs
}

func fcFixture(t *testing.T, name string, edit func(m map[string]any)) []byte {
	t.Helper()
	if edit == nil {
		raw, err := os.ReadFile(filepath.Join("testdata", "freshchat", name))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	return fixture(t, "../freshchat/"+name, edit)
}

func fcMessage(id, text string) func(m map[string]any) {
	return func(m map[string]any) {
		msg := m["data"].(map[string]any)["message"].(map[string]any)
		msg["id"], msg["message_parts"] = id, []any{map[string]any{"text": map[string]any{"content": text}}}
	}
}

func fcReplyCall(text string) apiCall {
	return apiCall{Method: "POST", Path: "/v2/conversations/conv-9a8b/messages", Auth: "Bearer " + fcToken, ContentType: "application/json",
		Body: map[string]any{"message_parts": []any{map[string]any{"text": map[string]any{"content": text}}},
			"message_type": "normal", "actor_type": "agent", "actor_id": "agent-bot-7001"}}
}

func TestFreshchatSignedMessageAnsweredOnce(t *testing.T) {
	hs := newFreshchatHarness(t, nil)
	body := fcFixture(t, "message_create_user.json", nil)
	if res := hs.signed(t, body); res.status != 200 || res.body["message_id"] == nil {
		t.Fatalf("event: %d %v", res.status, res.body)
	}
	if again := hs.signed(t, body); again.body["duplicate"] != true {
		t.Fatalf("retry: %v", again.body)
	}
	got := hs.cw.waitDelivered(t, 1)[0]
	hs.close(t)
	got.At = time.Time{}
	if want := fcReplyCall("Answer: How do I reset my password?"); !reflect.DeepEqual(got, want) {
		t.Fatalf("call = %+v\nwant %+v", got, want)
	}
	if n := len(hs.cw.recorded()); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}

func TestFreshchatBadSignatureIs401(t *testing.T) {
	hs := newFreshchatHarness(t, nil)
	body := fcFixture(t, "message_create_user.json", nil)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []http.Header{fcSign(other, body), fcSign(fcKey(), append([]byte(" "), body...)), {}, {"X-Freshchat-Signature": {"%%%"}}} {
		if res := hs.post(t, body, h); res.status != 401 {
			t.Fatalf("%v: %d %v, want 401", h, res.status, res.body)
		}
	}
	hs.close(t)
	if _, total, _ := hs.st.ListMessages(store.MessageFilter{}, 0, 1); total != 0 || len(hs.cw.recorded()) != 0 {
		t.Fatalf("%d stored, %d calls; want none", total, len(hs.cw.recorded()))
	}
}

func TestFreshchatOwnMessageAndPrivateNoteIgnored(t *testing.T) {
	hs := newFreshchatHarness(t, nil)
	for name, reason := range map[string]string{"message_create_bot.json": "the bot's own message", "message_create_private.json": "private note"} {
		if res := hs.signed(t, fcFixture(t, name, nil)); res.body["ignored"] != reason {
			t.Fatalf("%s: %d %v", name, res.status, res.body)
		}
	}
}

func TestFreshchatAgentTakeoverPausesAndResolutionResumes(t *testing.T) {
	for _, tc := range []struct{ fixture, cause string }{
		{"message_create_agent.json", store.PauseAgentReply},
		{"conversation_assignment.json", store.PauseAssigned},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			hs := newFreshchatHarness(t, nil)
			if res := hs.signed(t, fcFixture(t, tc.fixture, nil)); res.body["paused"] != true || res.body["cause"] != tc.cause {
				t.Fatalf("takeover: %d %v", res.status, res.body)
			}
			hs.signed(t, fcFixture(t, "message_create_user.json", fcMessage("msg-6001", "hello?")))
			if out := hs.waitTurn(t); out.Answer.Type != TypePaused {
				t.Fatalf("turn while paused = %+v", out)
			}
			if res := hs.signed(t, fcFixture(t, "conversation_resolution.json", nil)); res.body["paused"] != false {
				t.Fatalf("resolution: %d %v", res.status, res.body)
			}
			hs.signed(t, fcFixture(t, "message_create_user.json", fcMessage("msg-6002", "new question")))
			got := hs.cw.waitDelivered(t, 1)[0]
			hs.close(t)
			got.At = time.Time{}
			if !reflect.DeepEqual(got, fcReplyCall("Answer: new question")) || len(hs.cw.recorded()) != 1 {
				t.Fatalf("after resume: %+v, %d calls", got, len(hs.cw.recorded()))
			}
		})
	}
}

func TestFreshchatHandoffQueuesForTheGroup(t *testing.T) {
	hs := newFreshchatHarness(t, func(in *webhook.ConfigInput) { in.HandoffTarget = ptr("grp-2") })
	hs.signed(t, fcFixture(t, "message_create_user.json", fcMessage("msg-7001", "I want a human")))
	calls := hs.cw.waitDelivered(t, 2)
	hs.close(t)
	for i := range calls {
		calls[i].At = time.Time{}
	}
	want := []apiCall{
		{Method: "PUT", Path: "/v2/conversations/conv-9a8b", Auth: "Bearer " + fcToken, ContentType: "application/json",
			Body: map[string]any{"assigned_group_id": "grp-2"}},
		fcReplyCall(HandoffNotice),
	}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls = %+v\nwant %+v", calls, want)
	}
}

func TestFreshchatDeliveryRetriesInOrderUntilTheAPIRecovers(t *testing.T) {
	hs := newFreshchatHarness(t, nil)
	hs.cw.fail(reply{status: 429, retryAfter: "1"}, reply{status: 500}, reply{drop: true})
	texts := []string{"q1", "q2", "q3"}
	for i, text := range texts {
		hs.signed(t, fcFixture(t, "message_create_user.json", fcMessage("msg-80"+string(rune('1'+i)), text)))
		hs.waitTurn(t)
	}
	delivered := hs.cw.waitDelivered(t, 3)
	hs.close(t)
	for i, c := range delivered {
		c.At = time.Time{}
		if !reflect.DeepEqual(c, fcReplyCall("Answer: "+texts[i])) {
			t.Fatalf("delivered %d = %+v", i, c)
		}
	}
	calls := hs.cw.recorded()
	if len(calls) != 6 || calls[1].At.Sub(calls[0].At) < time.Second {
		t.Fatalf("%d calls (want 6), retry after 429 after %v (want >= 1s)", len(calls), calls[1].At.Sub(calls[0].At))
	}
}

func TestFreshchatPermanentRefusalFailsAtOnce(t *testing.T) {
	hs := newFreshchatHarness(t, nil)
	hs.cw.fail(reply{status: 403, body: `{"code":403,"status":"FORBIDDEN","message":"Access denied for this API key"}`})
	hs.signed(t, fcFixture(t, "message_create_user.json", nil))
	hs.waitTurn(t)
	hs.close(t)
	msgs, _, _ := hs.st.ListMessages(store.MessageFilter{Type: store.MessageOutgoing}, 0, 10)
	if len(msgs) != 1 || msgs[0].Status != store.StatusFailed || msgs[0].Attempts != 1 ||
		!strings.Contains(msgs[0].LastError, "Access denied for this API key") || strings.Contains(msgs[0].LastError, fcToken) {
		t.Fatalf("reply = %+v", msgs)
	}
}

func FuzzParseFreshchatEvent(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "freshchat", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	cfg := &store.WebhookConfig{Provider: "freshchat", PlatformSettings: store.PlatformSettings{Adapter: store.AdapterNative, BotID: "agent-bot-7001"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := parseFreshchat(cfg, body)
		if err != nil {
			if c := apperr.CodeOf(err); c != apperr.Invalid && c != apperr.TooLarge {
				t.Fatalf("error code %q (%v)", c, err)
			}
			return
		}
		if ev.Kind == Message && (ev.ConversationID == "" || ev.Inbound.UserID == "" || ev.Inbound.PlatformMessageID == "" || ev.Inbound.Text == "") {
			t.Fatalf("message event lacks what the turn needs: %+v", ev)
		}
		if (ev.Kind == Pause || ev.Kind == Resume) && (ev.ConversationID == "" || ev.Reason == "") {
			t.Fatalf("state event without conversation or cause: %+v", ev)
		}
	})
}
