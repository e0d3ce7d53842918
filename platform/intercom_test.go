package platform

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

const icToken = "ic-access-token-SECRET-4455"

func icSign(secret string, body []byte) http.Header {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	return http.Header{"X-Hub-Signature": {"sha1=" + hex.EncodeToString(mac.Sum(nil))}}
}

// newIntercomHarness is the harness with an intercom integration: the bot
// replies as admin 7001.
func newIntercomHarness(t *testing.T, edit func(in *webhook.ConfigInput)) *harness {
	hs := newHarness(t, func(in *webhook.ConfigInput) {
		in.Name, in.Provider, in.Account, in.APIToken, in.BotID = ptr("Intercom"), ptr("intercom"), nil, ptr(icToken), ptr("7001")
		if edit != nil {
			edit(in)
		}
	})
	hs.sign = func(body []byte) http.Header { return icSign(testSecret, body) }
	return hs
}

func icFixture(t *testing.T, name string, edit func(m map[string]any)) []byte {
	t.Helper()
	if edit == nil {
		raw, err := os.ReadFile(filepath.Join("testdata", "intercom", name))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	return fixture(t, "../intercom/"+name, edit)
}

// icCreated edits a conversation.user.created notification: the source's
// id and body.
func icCreated(id, body string) func(m map[string]any) {
	return func(m map[string]any) {
		src := m["data"].(map[string]any)["item"].(map[string]any)["source"].(map[string]any)
		src["id"], src["body"] = id, "<p>"+body+"</p>"
	}
}

func icReplyCall(text string) apiCall {
	return apiCall{Method: "POST", Path: "/conversations/215471230/reply", Auth: "Bearer " + icToken, ContentType: "application/json",
		Body: map[string]any{"message_type": "comment", "type": "admin", "admin_id": "7001", "body": text}}
}

func TestIntercomCreatedAndRepliedAnsweredOnce(t *testing.T) {
	hs := newIntercomHarness(t, nil)
	for _, name := range []string{"conversation_user_created.json", "conversation_user_replied.json"} {
		if res := hs.signed(t, icFixture(t, name, nil)); res.status != 200 || res.body["message_id"] == nil {
			t.Fatalf("%s: %d %v", name, res.status, res.body)
		}
		hs.waitTurn(t)
	}
	if again := hs.signed(t, icFixture(t, "conversation_user_replied.json", nil)); again.body["duplicate"] != true {
		t.Fatalf("retry: %v, want duplicate", again.body)
	}
	calls := hs.cw.waitDelivered(t, 2)
	hs.close(t)
	for i := range calls {
		calls[i].At = time.Time{}
	}
	want := []apiCall{icReplyCall("Answer: How do I reset my password?"), icReplyCall("Answer: And my username?")}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls = %+v\nwant %+v", calls, want)
	}
	if n := len(hs.cw.recorded()); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}

func TestIntercomBadSignatureIs401(t *testing.T) {
	hs := newIntercomHarness(t, nil)
	body := icFixture(t, "conversation_user_created.json", nil)
	for _, h := range []http.Header{icSign("wrong", body), {}, {"X-Hub-Signature": {"sha256=00"}}} {
		if res := hs.post(t, body, h); res.status != 401 {
			t.Fatalf("%v: %d %v, want 401", h, res.status, res.body)
		}
	}
	hs.close(t)
	if _, total, _ := hs.st.ListMessages(store.MessageFilter{}, 0, 1); total != 0 || len(hs.cw.recorded()) != 0 {
		t.Fatalf("%d stored, %d calls; want none", total, len(hs.cw.recorded()))
	}
}

func TestIntercomOwnReplyAndNoteIgnored(t *testing.T) {
	hs := newIntercomHarness(t, nil)
	for name, reason := range map[string]string{
		"conversation_admin_replied_bot.json": "the bot's own message",
		"conversation_admin_noted.json":       "topic conversation.admin.noted is not used",
	} {
		if res := hs.signed(t, icFixture(t, name, nil)); res.body["ignored"] != reason {
			t.Fatalf("%s: %d %v, want ignored %q", name, res.status, res.body, reason)
		}
	}
	if p, _ := hs.st.ConversationPauseState(hs.cfg.ID, "215471230"); p.Paused {
		t.Fatalf("paused: %+v", p)
	}
}

func TestIntercomAgentTakeoverPausesAndCloseResumes(t *testing.T) {
	for _, tc := range []struct{ fixture, cause string }{
		{"conversation_admin_replied.json", store.PauseAgentReply},
		{"conversation_admin_assigned.json", store.PauseAssigned},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			hs := newIntercomHarness(t, nil)
			if res := hs.signed(t, icFixture(t, tc.fixture, nil)); res.body["paused"] != true || res.body["cause"] != tc.cause {
				t.Fatalf("takeover: %d %v", res.status, res.body)
			}
			hs.signed(t, icFixture(t, "conversation_user_created.json", icCreated("1908432600", "hello?")))
			if out := hs.waitTurn(t); out.Answer.Type != TypePaused {
				t.Fatalf("turn while paused = %+v", out)
			}
			if res := hs.signed(t, icFixture(t, "conversation_admin_closed.json", nil)); res.body["paused"] != false || res.body["cause"] != store.ResumeResolved {
				t.Fatalf("close: %d %v", res.status, res.body)
			}
			hs.signed(t, icFixture(t, "conversation_user_created.json", icCreated("1908432601", "new question")))
			got := hs.cw.waitDelivered(t, 1)[0]
			hs.close(t)
			if got.Body["body"] != "Answer: new question" || len(hs.cw.recorded()) != 1 {
				t.Fatalf("after resume: %+v, %d calls", got, len(hs.cw.recorded()))
			}
		})
	}
}

func TestIntercomHandoffAssignsTheTeam(t *testing.T) {
	hs := newIntercomHarness(t, func(in *webhook.ConfigInput) { in.HandoffTarget = ptr("5501") })
	hs.signed(t, icFixture(t, "conversation_user_created.json", icCreated("1908432700", "talk to a human")))
	calls := hs.cw.waitDelivered(t, 2)
	hs.close(t)
	for i := range calls {
		calls[i].At = time.Time{}
	}
	want := []apiCall{
		{Method: "POST", Path: "/conversations/215471230/parts", Auth: "Bearer " + icToken, ContentType: "application/json",
			Body: map[string]any{"message_type": "assignment", "type": "admin", "admin_id": "7001", "assignee_id": "5501"}},
		icReplyCall(HandoffNotice),
	}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls = %+v\nwant %+v", calls, want)
	}
}

func TestIntercomDeliveryRetriesInOrderUntilTheAPIRecovers(t *testing.T) {
	hs := newIntercomHarness(t, nil)
	hs.cw.fail(reply{status: 429, retryAfter: "1"}, reply{status: 500}, reply{drop: true})
	texts := []string{"q1", "q2", "q3"}
	for i, text := range texts {
		hs.signed(t, icFixture(t, "conversation_user_created.json", icCreated("19084328"+string(rune('1'+i)), text)))
		hs.waitTurn(t)
	}
	delivered := hs.cw.waitDelivered(t, 3)
	hs.close(t)
	for i, c := range delivered {
		if c.Body["body"] != "Answer: "+texts[i] {
			t.Fatalf("delivered %d = %v", i, c.Body)
		}
	}
	calls := hs.cw.recorded()
	if len(calls) != 6 || calls[1].At.Sub(calls[0].At) < time.Second {
		t.Fatalf("%d calls (want 6), retry after 429 after %v (want >= 1s)", len(calls), calls[1].At.Sub(calls[0].At))
	}
}

func TestIntercomPermanentRefusalFailsAtOnce(t *testing.T) {
	hs := newIntercomHarness(t, nil)
	hs.cw.fail(reply{status: 404, body: `{"type":"error.list","errors":[{"code":"not_found","message":"Resource Not Found"}]}`})
	hs.signed(t, icFixture(t, "conversation_user_created.json", nil))
	hs.waitTurn(t)
	hs.close(t)
	msgs, _, _ := hs.st.ListMessages(store.MessageFilter{Type: store.MessageOutgoing}, 0, 10)
	if len(msgs) != 1 || msgs[0].Status != store.StatusFailed || msgs[0].Attempts != 1 ||
		!strings.Contains(msgs[0].LastError, "Resource Not Found") || strings.Contains(msgs[0].LastError, icToken) {
		t.Fatalf("reply = %+v", msgs)
	}
}

func TestIntercomHTMLText(t *testing.T) {
	for in, want := range map[string]string{
		"<p>And my <b>username</b>?</p>":         "And my username?",
		"<p>line one</p><p>line&nbsp;two</p>":    "line one line two",
		"a<br>b &amp; c &lt;tag&gt;":             "a b & c <tag>",
		"<a href=\"https://x.example\">link</a>": "link",
		"unclosed <b":                            "unclosed",
	} {
		if got := htmlText(in); got != want {
			t.Errorf("htmlText(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseIntercomEvent(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "intercom", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"notification_event","topic":"conversation.user.replied","data":{"item":{"id":1,"conversation_parts":{"conversation_parts":[{"part_type":"comment","body":"<b","author":{"type":"lead","id":2}}]}}}}`))
	cfg := &store.WebhookConfig{Provider: "intercom", PlatformSettings: store.PlatformSettings{Adapter: store.AdapterNative, BotID: "7001"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := parseIntercom(cfg, body)
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
