package cmd

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// orderAPI is a shop's order API over loopback; it records the
// Authorization and X-Customer-Id of each request.
type orderAPI struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "URI auth customer"
}

func newOrderAPI(t *testing.T) *orderAPI {
	o := &orderAPI{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.seen = append(o.seen, r.RequestURI+" "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Customer-Id"))
		o.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"shipped","eta":"Friday","internal_note":"VIP, margin 12%"}`)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *orderAPI) requests() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.seen...)
}

func writeOrderTool(t *testing.T, base string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "order_status.json")
	decl := `{
  "name": "order_status",
  "description": "Status and delivery date of one of the user's orders",
  "method": "GET",
  "url": "` + base + `/orders/{order_id}",
  "headers": {"X-Customer-Id": "{{user_id}}"},
  "auth": {"kind": "bearer"},
  "params": [{"name": "order_id", "description": "order number (5 to 10 digits)", "required": true, "pattern": "[0-9]{5,10}"}],
  "triggers": ["(?i)where is my order", "(?i)order status"],
  "ask": "Which order? Please give me its {description}.",
  "answer": "Order {order_id} is {status}; expected delivery {eta}.",
  "fields": ["status", "eta"],
  "enabled_for": ["*"]
}`
	if err := os.WriteFile(path, []byte(decl), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// chatbot tool add|list|show|test|remove on the data directory and through
// the API of a server holding it, with the same output.
func TestToolCommandsLocalAndThroughServer(t *testing.T) {
	api := newOrderAPI(t)
	file := writeOrderTool(t, api.URL)
	check := func(t *testing.T, e env, extra ...string) {
		t.Helper()
		args := func(a ...string) []string { return append(a, extra...) }
		out, _, err := run(t, e, args("tool", "add", "--file", file, "--secret-env", "SHOP_TOKEN")...)
		if err != nil || out != "tool order_status added: GET "+api.URL+"/orders/{order_id} (auth bearer, enabled for *)\n" {
			t.Fatalf("tool add: %v %q", err, out)
		}
		if _, _, err := run(t, e, args("tool", "add", "--file", file, "--secret-env", "SHOP_TOKEN")...); err == nil || !strings.Contains(err.Error(), `a tool named "order_status" exists`) {
			t.Fatalf("add twice: %v", err)
		}
		out, _, err = run(t, e, args("tool", "list")...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err != nil || len(lines) != 2 || strings.Join(strings.Fields(lines[1]), " ") != "order_status GET "+api.URL+"/orders/{order_id} bearer *" {
			t.Fatalf("tool list: %v\n%s", err, out)
		}
		out, _, err = run(t, e, args("tool", "show", "order_status")...)
		if err != nil || !strings.Contains(out, `"secret": "****7890"`) || strings.Contains(out, "shop_tok_1234567890") {
			t.Fatalf("tool show: %v\n%s", err, out)
		}
		out, _, err = run(t, e, args("tool", "test", "order_status", "--param", "order_id=12345", "--as-user", "cust-7")...)
		if err != nil || !strings.HasPrefix(out, "the user sees: Order 12345 is shipped; expected delivery Friday.\nresponse_type: api_tool\noutcome:       ok\nstatus:        200\ntime:          ") {
			t.Fatalf("tool test: %v\n%s", err, out)
		}
		reqs := api.requests()
		if len(reqs) == 0 || reqs[len(reqs)-1] != "/orders/12345 Bearer shop_tok_1234567890 cust-7" {
			t.Fatalf("the API got %q", reqs)
		}
		out, _, err = run(t, e, args("tool", "test", "order_status", "--as-user", "cust-7")...)
		if err != nil || !strings.HasPrefix(out, "the user sees: Which order? Please give me its order number (5 to 10 digits).\n") {
			t.Fatalf("tool test without the order: %v\n%s", err, out)
		}
		if _, _, err := run(t, e, args("tool", "test", "order_status", "--param", "order_id=12")...); err == nil || !strings.Contains(err.Error(), `params.order_id: "12" does not match`) {
			t.Fatalf("bad param: %v", err)
		}
		if out, _, err := run(t, e, args("tool", "remove", "order_status")...); err != nil || out != "tool order_status removed\n" {
			t.Fatalf("tool remove: %v %q", err, out)
		}
		if _, _, err := run(t, e, args("tool", "show", "order_status")...); err == nil || !strings.Contains(err.Error(), `no tool named "order_status"`) {
			t.Fatalf("show removed: %v", err)
		}
	}
	t.Run("local", func(t *testing.T) {
		check(t, mapEnv(map[string]string{"CHATBOT_DATA_DIR": t.TempDir(), "SHOP_TOKEN": "shop_tok_1234567890",
			"CHATBOT_ALLOW_OUTGOING": "loopback"}))
	})
	t.Run("local refuses loopback by default", func(t *testing.T) {
		e := mapEnv(map[string]string{"CHATBOT_DATA_DIR": t.TempDir(), "SHOP_TOKEN": "shop_tok_1234567890"})
		if _, _, err := run(t, e, "tool", "add", "--file", file, "--secret-env", "SHOP_TOKEN"); err != nil {
			t.Fatal(err)
		}
		before := len(api.requests())
		out, _, err := run(t, e, "tool", "test", "order_status", "--param", "order_id=12345")
		if err != nil || !strings.Contains(out, "outcome:       blocked\n") || !strings.Contains(out, "--allow-outgoing") || len(api.requests()) != before {
			t.Fatalf("test to loopback without --allow-outgoing: %v\n%s", err, out)
		}
	})
	t.Run("server", func(t *testing.T) {
		const token = "admin-token-0123456789abcdef"
		a, _ := startApp(t, config{AdminToken: token, AllowOutgoing: "loopback"})
		check(t, mapEnv(map[string]string{"CHATBOT_DATA_DIR": a.cfg.DataDir, "CHATBOT_ADMIN_TOKEN": token, "SHOP_TOKEN": "shop_tok_1234567890"}))
	})
}

// A user asks a platform's webhook about an order: the tool answers, asks
// for a missing order number and takes it from the next message; the
// calls are counted on /metrics.
func TestToolAnswersThroughTheWebhook(t *testing.T) {
	api := newOrderAPI(t)
	a, _ := startApp(t, config{AdminToken: e2eAdmin, AllowOutgoing: "loopback", Answer: answerConfig{LLM: llmNone}})
	base := "http://" + a.Addr()
	env := mapEnv(map[string]string{"CHATBOT_DATA_DIR": a.cfg.DataDir, "CHATBOT_ADMIN_TOKEN": e2eAdmin, "SHOP_TOKEN": "shop_tok_1234567890"})
	if _, _, err := run(t, env, "tool", "add", "--file", writeOrderTool(t, api.URL), "--secret-env", "SHOP_TOKEN"); err != nil {
		t.Fatal(err)
	}
	e := &e2e{t: t, base: base}
	var created struct {
		Config struct {
			IncomingToken string `json:"incoming_token"`
		} `json:"config"`
	}
	if s := e.do("POST", "/api/webhook/config", e2eAdmin, map[string]any{"name": "Shop", "provider": "chatwoot"}, &created); s != 201 {
		t.Fatalf("create config: %d", s)
	}
	n := 0
	say := func(text string) (answer, typ, source string) {
		n++
		var r struct {
			Response struct {
				Answer       string `json:"answer"`
				ResponseType string `json:"response_type"`
				Sources      []struct{ Title, Source string }
			} `json:"response"`
		}
		if s := e.do("POST", "/api/webhook/incoming", created.Config.IncomingToken, map[string]any{
			"user_id": "cust-7", "conversation_id": "conv_1", "message": text, "message_id": fmt.Sprint("m", n)}, &r); s != 200 {
			t.Fatalf("webhook %q: %d", text, s)
		}
		if len(r.Response.Sources) > 0 {
			source = r.Response.Sources[0].Title + "|" + r.Response.Sources[0].Source
		}
		return r.Response.Answer, r.Response.ResponseType, source
	}
	for _, step := range []struct{ say, answer, typ string }{
		{"Where is my order 12345?", "Order 12345 is shipped; expected delivery Friday.", "api_tool"},
		{"what's my order status", "Which order? Please give me its order number (5 to 10 digits).", "api_tool"},
		{"It is 67890", "Order 67890 is shipped; expected delivery Friday.", "api_tool"},
	} {
		answer, typ, source := say(step.say)
		if answer != step.answer || typ != step.typ || source != "order_status|tool:order_status" {
			t.Fatalf("%q: got %q (%s, %s), want %q", step.say, answer, typ, source, step.answer)
		}
	}
	if reqs := api.requests(); len(reqs) != 2 || reqs[1] != "/orders/67890 Bearer shop_tok_1234567890 cust-7" {
		t.Fatalf("the API got %q", reqs)
	}
	m := scrape(t, base, e2eAdmin)
	if got := m[`chatbot_tool_calls_total{tool="order_status",outcome="ok"}`]; got != 2 {
		t.Fatalf("chatbot_tool_calls_total ok = %v", got)
	}
	if got := m[`chatbot_tool_call_duration_seconds_count{tool="order_status"}`]; got != 2 {
		t.Fatalf("duration count = %v", got)
	}
}
