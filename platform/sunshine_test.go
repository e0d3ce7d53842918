package platform

import (
	"encoding/base64"
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

const scKey = "key_app5f2a:sc-secret-7788"

// newSunshineHarness is the harness with a zendesk (Sunshine
// Conversations) integration: app app_5f2a, the bot's switchboard
// integration sw_bot.
func newSunshineHarness(t *testing.T, edit func(in *webhook.ConfigInput)) *harness {
	hs := newHarness(t, func(in *webhook.ConfigInput) {
		in.Name, in.Provider, in.Account, in.APIToken, in.BotID = ptr("Zendesk"), ptr("zendesk"), ptr("app_5f2a"), ptr(scKey), ptr("sw_bot")
		if edit != nil {
			edit(in)
		}
	})
	hs.sign = func([]byte) http.Header { return http.Header{"X-Api-Key": {testSecret}} }
	return hs
}

func scFixture(t *testing.T, name string, edit func(ev map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "sunshine", name))
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return raw
	}
	return fixture(t, "../sunshine/"+name, func(m map[string]any) { edit(m["events"].([]any)[0].(map[string]any)) })
}

// scMessage edits a conversation:message event: its message id and text.
func scMessage(id, text string) func(ev map[string]any) {
	return func(ev map[string]any) {
		m := ev["payload"].(map[string]any)["message"].(map[string]any)
		m["id"] = id
		m["content"].(map[string]any)["text"] = text
	}
}

var scBasic = "Basic " + base64.StdEncoding.EncodeToString([]byte(scKey))

func scMessagesCall(text string) apiCall {
	return apiCall{Method: "POST", Path: "/v2/apps/app_5f2a/conversations/conv_c8f4/messages", Auth: scBasic, ContentType: "application/json",
		Body: map[string]any{"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": text}}}
}

func TestSunshineEventAnsweredOnceAsTheBusiness(t *testing.T) {
	hs := newSunshineHarness(t, nil)
	res := hs.signed(t, scFixture(t, "conversation_message_user.json", nil))
	if res.status != 200 || res.body["message_id"] == nil {
		t.Fatalf("event: %d %v", res.status, res.body)
	}
	again := hs.signed(t, scFixture(t, "conversation_message_user.json", nil))
	if again.body["duplicate"] != true {
		t.Fatalf("retry: %d %v, want duplicate", again.status, again.body)
	}
	got := hs.cw.waitDelivered(t, 1)[0]
	hs.close(t)
	got.At = time.Time{}
	if want := scMessagesCall("Answer: How do I reset my password?"); !reflect.DeepEqual(got, want) {
		t.Fatalf("call = %+v\nwant %+v", got, want)
	}
	if n := len(hs.cw.recorded()); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}

func TestSunshineSeveralEventsInOnePost(t *testing.T) {
	hs := newSunshineHarness(t, nil)
	res := hs.signed(t, scFixture(t, "conversation_message_two_users.json", nil))
	events, _ := res.body["events"].([]any)
	if res.status != 200 || len(events) != 2 {
		t.Fatalf("batch: %d %v", res.status, res.body)
	}
	hs.cw.waitDelivered(t, 2)
	hs.close(t)
	if asked := hs.answerer.asked(); len(asked) != 2 {
		t.Fatalf("engine asked %q, want both messages", asked)
	}
}

func TestSunshineWrongOrMissingKeyIs401(t *testing.T) {
	hs := newSunshineHarness(t, nil)
	body := scFixture(t, "conversation_message_user.json", nil)
	for _, h := range []http.Header{{"X-Api-Key": {"wrong"}}, {}} {
		if res := hs.post(t, body, h); res.status != 401 {
			t.Fatalf("key %v: %d %v, want 401", h, res.status, res.body)
		}
	}
	hs.close(t)
	if _, total, _ := hs.st.ListMessages(store.MessageFilter{}, 0, 1); total != 0 || len(hs.cw.recorded()) != 0 {
		t.Fatalf("%d messages stored, %d calls; want none", total, len(hs.cw.recorded()))
	}
}

func TestSunshineBusinessMessagesAreIgnored(t *testing.T) {
	hs := newSunshineHarness(t, nil)
	res := hs.signed(t, scFixture(t, "conversation_message_business.json", nil))
	if res.status != 200 || !strings.Contains(res.body["ignored"].(string), "business author") {
		t.Fatalf("business message: %d %v", res.status, res.body)
	}
	if p, _ := hs.st.ConversationPauseState(hs.cfg.ID, "conv_c8f4"); p.Paused {
		t.Fatalf("paused by a business message: %+v", p)
	}
}

func TestSunshineControlPassedAwayPausesAndBackResumes(t *testing.T) {
	hs := newSunshineHarness(t, nil)
	res := hs.signed(t, scFixture(t, "switchboard_pass_control_away.json", nil))
	if res.body["paused"] != true || res.body["cause"] != store.PauseControlPassed {
		t.Fatalf("pass away: %d %v", res.status, res.body)
	}
	hs.signed(t, scFixture(t, "conversation_message_user.json", scMessage("msg_2001", "anyone?")))
	if out := hs.waitTurn(t); out.Answer.Type != TypePaused {
		t.Fatalf("turn while paused = %+v", out)
	}
	res = hs.signed(t, scFixture(t, "switchboard_pass_control_back.json", nil))
	if res.body["paused"] != false || res.body["cause"] != store.ResumeHandback {
		t.Fatalf("pass back: %d %v", res.status, res.body)
	}
	hs.signed(t, scFixture(t, "conversation_message_user.json", scMessage("msg_2002", "thanks, one more")))
	got := hs.cw.waitDelivered(t, 1)[0]
	hs.close(t)
	if got.Body["content"].(map[string]any)["text"] != "Answer: thanks, one more" || len(hs.cw.recorded()) != 1 {
		t.Fatalf("after resume: %+v, %d calls", got, len(hs.cw.recorded()))
	}
}

// A user's message while another switchboard integration is active is
// not answered, even with no passControl event seen.
func TestSunshineMessageWhileAnotherIntegrationIsActiveIsNotAnswered(t *testing.T) {
	hs := newSunshineHarness(t, nil)
	hs.signed(t, scFixture(t, "conversation_message_user.json", func(ev map[string]any) {
		ev["payload"].(map[string]any)["conversation"].(map[string]any)["activeSwitchboardIntegration"] = map[string]any{"id": "sw_agents"}
	}))
	if out := hs.waitTurn(t); out.Answer.Type != TypePaused {
		t.Fatalf("turn = %+v, want paused", out)
	}
	hs.close(t)
	if n := len(hs.cw.recorded()); n != 0 {
		t.Fatalf("%d calls, want none", n)
	}
}

func TestSunshineHandoffPassesControl(t *testing.T) {
	hs := newSunshineHarness(t, func(in *webhook.ConfigInput) { in.HandoffTarget = ptr("sw_agents") })
	hs.signed(t, scFixture(t, "conversation_message_user.json", scMessage("msg_3001", "I need a human")))
	calls := hs.cw.waitDelivered(t, 2)
	hs.close(t)
	for i := range calls {
		calls[i].At = time.Time{}
	}
	want := []apiCall{
		{Method: "POST", Path: "/v2/apps/app_5f2a/conversations/conv_c8f4/passControl", Auth: scBasic, ContentType: "application/json",
			Body: map[string]any{"switchboardIntegration": "sw_agents"}},
		scMessagesCall(HandoffNotice),
	}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls = %+v\nwant %+v", calls, want)
	}
}

func TestSunshineDeliveryRetriesInOrderUntilTheAPIRecovers(t *testing.T) {
	hs := newSunshineHarness(t, nil)
	hs.cw.fail(reply{status: 429, retryAfter: "1"}, reply{status: 500}, reply{drop: true})
	texts := []string{"q1", "q2", "q3"}
	for i, text := range texts {
		hs.signed(t, scFixture(t, "conversation_message_user.json", scMessage("msg_40"+string(rune('1'+i)), text)))
		hs.waitTurn(t)
	}
	delivered := hs.cw.waitDelivered(t, 3)
	hs.close(t)
	for i, c := range delivered {
		if c.Body["content"].(map[string]any)["text"] != "Answer: "+texts[i] {
			t.Fatalf("delivered %d = %v", i, c.Body)
		}
	}
	calls := hs.cw.recorded()
	if len(calls) != 6 || calls[1].At.Sub(calls[0].At) < time.Second {
		t.Fatalf("%d calls (want 6), retry after 429 after %v (want >= 1s)", len(calls), calls[1].At.Sub(calls[0].At))
	}
}

func TestSunshinePermanentRefusalFailsAtOnce(t *testing.T) {
	hs := newSunshineHarness(t, nil)
	hs.cw.fail(reply{status: 401, body: `{"errors":[{"code":"unauthorized","title":"Authorization is required"}]}`})
	hs.signed(t, scFixture(t, "conversation_message_user.json", nil))
	hs.waitTurn(t)
	hs.close(t)
	msgs, _, _ := hs.st.ListMessages(store.MessageFilter{Type: store.MessageOutgoing}, 0, 10)
	if len(msgs) != 1 || msgs[0].Status != store.StatusFailed || msgs[0].Attempts != 1 ||
		!strings.Contains(msgs[0].LastError, "Authorization is required") || strings.Contains(msgs[0].LastError, "sc-secret-7788") {
		t.Fatalf("reply = %+v", msgs)
	}
}

// FuzzParseSunshineEvent: any body parses or is a 400/413, and a message
// to answer has what the turn needs.
func FuzzParseSunshineEvent(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "sunshine", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"events":[{"type":"conversation:message","payload":{"conversation":{"id":"c"},"message":null}}]}`))
	cfg := &store.WebhookConfig{Provider: "zendesk", PlatformSettings: store.PlatformSettings{Adapter: store.AdapterNative, Account: "app_5f2a", BotID: "sw_bot"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := Sunshine{}.Parse(cfg, body)
		if err != nil {
			if c := apperr.CodeOf(err); c != apperr.Invalid && c != apperr.TooLarge {
				t.Fatalf("error code %q (%v)", c, err)
			}
			return
		}
		for _, ev := range evs {
			if ev.Kind == Message && (ev.ConversationID == "" || ev.Inbound.UserID == "" || ev.Inbound.PlatformMessageID == "" || ev.Inbound.Text == "") {
				t.Fatalf("message event lacks what the turn needs: %+v", ev)
			}
			if (ev.Kind == Pause || ev.Kind == Resume) && (ev.ConversationID == "" || ev.Reason == "") {
				t.Fatalf("state event without conversation or cause: %+v", ev)
			}
		}
	})
}
