package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/store"
)

// A scripted conversation (question, follow-up, hand-off, agent reply,
// close, question again) through each channel of one server: the webhook
// of an integration without an outgoing URL, the website widget, and
// chatbot ask --server. The turn is one, so the answers and the stored
// records must be the same through each.

// turnResult is what a user of any channel was told by one step.
type turnResult struct {
	Answer       string
	ResponseType string
	Sources      string   // "title|source" joined, scores left out
	Handed       []string // live-chat messages that came with it: "sender_type: text"
}

// storedRecord is a stored message without what names the channel.
type storedRecord struct {
	Type, Status, SenderType, ResponseType, Text string
}

// toldBody is what the webhook's response and ask --json say, alike.
type toldBody struct {
	Answer       string `json:"answer"`
	ResponseType string `json:"response_type"`
	Sources      []struct{ Title, Source string }
	Handed       []struct {
		SenderType string `json:"sender_type"`
		Text       string `json:"message"`
	} `json:"live_chat_messages"`
}

func (b toldBody) result() turnResult {
	out := turnResult{Answer: b.Answer, ResponseType: b.ResponseType}
	for _, s := range b.Sources {
		out.Sources += s.Title + "|" + s.Source + ";"
	}
	for _, h := range b.Handed {
		out.Handed = append(out.Handed, h.SenderType+": "+h.Text)
	}
	return out
}

// channel sends one user message and returns what the user was told.
type channel struct {
	name string
	say  func(t *testing.T, text string) turnResult
	ref  store.ConvRef
}

var script = []string{
	"how do I reset my password?",
	"and how long is the link valid?",
	"I want to talk to a human",
	"thanks, I will wait",
	// (the agent accepts and replies here)
	"ok, and what about the reset link?",
	// (the agent closes here)
	"how do I reset my password?",
}

func TestScriptedConversationIsTheSameThroughEveryChannel(t *testing.T) {
	a, _ := startApp(t, config{AdminToken: e2eAdmin, Answer: answerConfig{LLM: llmNone}})
	base := "http://" + a.Addr()
	if _, err := a.index.PutUpload(context.Background(), "account.md", []byte("# Account\n\n## Password reset\n\n"+
		"Reset your password under Settings > Security. The reset link is valid for 24 hours.\n")); err != nil {
		t.Fatal(err)
	}
	e := &e2e{t: t, base: base}

	// The webhook channel: an integration with no outgoing URL, so agent
	// replies come back in the response to the user's next message.
	var created struct {
		Config struct {
			ID            uint64 `json:"id"`
			IncomingToken string `json:"incoming_token"`
		} `json:"config"`
	}
	if s := e.do("POST", "/api/webhook/config", e2eAdmin, map[string]any{"name": "Chatwoot", "provider": "chatwoot"}, &created); s != 201 {
		t.Fatalf("create config: %d", s)
	}
	msgID := 0
	webhookCh := channel{name: "webhook", ref: store.ConvRef{ConfigID: created.Config.ID, Platform: "chatwoot", ConversationID: "conv_script"},
		say: func(t *testing.T, text string) turnResult {
			msgID++
			var r struct {
				Response toldBody `json:"response"`
			}
			if s := e.do("POST", "/api/webhook/incoming", created.Config.IncomingToken, map[string]any{
				"user_id": "u1", "conversation_id": "conv_script", "message": text, "message_id": fmt.Sprint("m", msgID)}, &r); s != 200 {
				t.Fatalf("webhook %q: %d", text, s)
			}
			return r.Response.result()
		}}

	// The widget channel: agent replies are polled.
	var wd struct {
		Widget struct {
			ID  uint64 `json:"id"`
			Key string `json:"key"`
		} `json:"widget"`
	}
	if s := e.do("POST", "/admin/api/widgets", e2eAdmin, map[string]any{"name": "Site", "allowed_origins": []string{"https://shop.example"}}, &wd); s != 201 {
		t.Fatalf("create widget: %d", s)
	}
	var lastPolled uint64
	widgetCh := channel{name: "widget", ref: store.ConvRef{WidgetID: wd.Widget.ID, Platform: "widget", ConversationID: "conv_script"},
		say: func(t *testing.T, text string) turnResult {
			var out turnResult
			// What the widget shows first: the messages its poll finds.
			rq, _ := http.NewRequest("GET", base+"/api/chat/messages?key="+url.QueryEscape(wd.Widget.Key)+
				"&conversation_id=conv_script&after="+fmt.Sprint(lastPolled), nil)
			rq.Header.Set("Origin", "https://shop.example")
			var polled struct {
				Messages []struct {
					ID         uint64 `json:"id"`
					SenderType string `json:"sender_type"`
					Text       string `json:"text"`
				} `json:"messages"`
			}
			widgetDo(t, rq, &polled)
			for _, m := range polled.Messages {
				out.Handed = append(out.Handed, m.SenderType+": "+m.Text)
				lastPolled = m.ID
			}
			body, _ := json.Marshal(map[string]any{"message": text, "conversation_id": "conv_script"})
			rq, _ = http.NewRequest("POST", base+"/api/chat?key="+url.QueryEscape(wd.Widget.Key), bytes.NewReader(body))
			rq.Header.Set("Origin", "https://shop.example")
			rq.Header.Set("Content-Type", "application/json")
			var r struct {
				Answer       string `json:"answer"`
				ResponseType string `json:"response_type"`
				Sources      []struct{ Title, Source string }
			}
			widgetDo(t, rq, &r)
			out.Answer, out.ResponseType = r.Answer, r.ResponseType
			for _, s := range r.Sources {
				out.Sources += s.Title + "|" + s.Source + ";"
			}
			return out
		}}

	// chatbot ask --server, the command itself.
	env := mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": e2eAdmin})
	askCh := channel{name: "ask --server", ref: store.ConvRef{Platform: "cli", ConversationID: "conv_script"},
		say: func(t *testing.T, text string) turnResult {
			stdout, _, err := run(t, env, "ask", "--server", base, "--conversation", "conv_script", "--json", text)
			if err != nil {
				t.Fatalf("ask %q: %v", text, err)
			}
			var r toldBody
			if err := json.Unmarshal([]byte(stdout), &r); err != nil {
				t.Fatalf("ask output: %v\n%s", err, stdout)
			}
			return r.result()
		}}

	var results [][]turnResult
	for _, ch := range []channel{webhookCh, widgetCh, askCh} {
		var got []turnResult
		var session string
		for i, text := range script {
			switch i {
			case 4: // the agent accepts and replies
				session = openSession(t, a, ch.ref)
				if s := e.do("POST", "/api/livechat/sessions/"+session+"/accept", e2eAdmin, map[string]string{"agent": "Sarah"}, nil); s != 200 {
					t.Fatalf("%s: accept: %d", ch.name, s)
				}
				if s := e.do("POST", "/api/livechat/sessions/"+session+"/messages", e2eAdmin, map[string]string{"message": "The link is valid for a day."}, nil); s != 201 {
					t.Fatalf("%s: agent message: %d", ch.name, s)
				}
			case 5: // the agent closes
				if s := e.do("POST", "/api/livechat/sessions/"+session+"/close", e2eAdmin, nil, nil); s != 200 {
					t.Fatalf("%s: close: %d", ch.name, s)
				}
			}
			got = append(got, ch.say(t, text))
		}
		results = append(results, got)
	}

	want := []struct {
		responseType string
		handed       []string
	}{
		{"extractive", nil},
		{"extractive", nil},
		{"live_chat_transfer", nil},
		{"live_chat_message", nil},
		{"live_chat_message", []string{"agent: Agent Sarah is now connected and will help you from here.", "agent: The link is valid for a day."}},
		{"extractive", []string{"system: The agent has ended the chat. The assistant will answer your next message."}},
	}
	for i, w := range want {
		r := results[0][i]
		if r.ResponseType != w.responseType || !reflect.DeepEqual(r.Handed, w.handed) {
			t.Errorf("webhook step %d (%q): type %s, handed %q; want %s, %q", i, script[i], r.ResponseType, r.Handed, w.responseType, w.handed)
		}
		if w.responseType == "extractive" && (!strings.Contains(r.Answer, "Settings > Security") && !strings.Contains(r.Answer, "24 hours") || r.Sources == "") {
			t.Errorf("webhook step %d (%q): answer %q, sources %q", i, script[i], r.Answer, r.Sources)
		}
	}
	for c, name := range []string{"widget", "ask --server"} {
		if !reflect.DeepEqual(results[c+1], results[0]) {
			t.Errorf("%s told the user otherwise than the webhook:\n%s: %+v\nwebhook: %+v", name, name, results[c+1], results[0])
		}
	}

	// The stored records: the same sequence, every outgoing message sent.
	var records [][]storedRecord
	for _, ch := range []channel{webhookCh, widgetCh, askCh} {
		msgs, err := a.store.ConversationMessages(ch.ref, 100)
		if err != nil {
			t.Fatal(err)
		}
		var rs []storedRecord
		for _, m := range msgs {
			rs = append(rs, storedRecord{string(m.Type), string(m.Status), m.SenderType, string(m.ResponseType), m.Text})
		}
		records = append(records, rs)
	}
	if len(records[0]) != 13 {
		t.Fatalf("webhook conversation has %d stored messages, want 13: %+v", len(records[0]), records[0])
	}
	for _, r := range records[0] {
		if r.Type != "incoming" && r.Status != "sent" {
			t.Errorf("webhook: stored %+v is not sent", r)
		}
	}
	for c, name := range []string{"widget", "ask --server"} {
		if !reflect.DeepEqual(records[c+1], records[0]) {
			t.Errorf("%s stored otherwise than the webhook:\n%s: %+v\nwebhook: %+v", name, name, records[c+1], records[0])
		}
	}
}

// openSession is the id of the open live-chat session of ref.
func openSession(t *testing.T, a *app, ref store.ConvRef) string {
	t.Helper()
	l, err := a.store.OpenLiveChat(ref)
	if err != nil {
		t.Fatalf("open session of %v: %v", ref, err)
	}
	return l.ID
}

func widgetDo(t *testing.T, rq *http.Request, out any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(raw, out) != nil {
		t.Fatalf("%s %s: %d %s", rq.Method, rq.URL.Path, resp.StatusCode, raw)
	}
}
