package tools

import (
	"strings"
	"testing"

	"github.com/chatbot/chatbot/apperr"
)

// orderTool is a valid declaration the tests vary.
func orderTool() Tool {
	return Tool{
		Name: "order_status", Description: "The status of one of the user's orders.",
		Method: "GET", URL: "https://shop.example/api/orders/{order_id}?customer={{user_id}}",
		Headers:  map[string]string{"X-Customer-Id": "{{user_id}}"},
		Auth:     Auth{Kind: "bearer", Secret: "sk_test_123456789"},
		Params:   []Param{{Name: "order_id", Description: "order number", Required: true, Pattern: `[0-9]{4,10}`}},
		Triggers: []string{`(?i)where is my order(?:\s+#?(?P<order_id>[0-9]+))?`, `(?i)order status`},
		Answer:   "Order {order_id} is {status}, expected {shipping.eta}.",
		Fields:   []string{"status", "shipping.eta"}, EnabledFor: []string{"*"},
	}
}

func TestCompileValid(t *testing.T) {
	c, err := Compile(orderTool())
	if err != nil {
		t.Fatal(err)
	}
	if c.Method != "GET" || c.Auth.Kind != "bearer" || c.Limits.Timeout().Seconds() != 5 || c.Limits.MaxBytes() != 65536 {
		t.Fatalf("defaults: %+v", c.Tool)
	}
	if !c.ValidValue("order_id", "12345") || c.ValidValue("order_id", "12") || c.ValidValue("order_id", "1234x") {
		t.Fatal("pattern is matched whole")
	}
}

func TestCompileErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Tool)
		field  string
		msg    string
	}{
		{"slug", func(t *Tool) { t.Name = "Order Status" }, "name", "name must be 1 to 64 lower-case"},
		{"method", func(t *Tool) { t.Method = "DELETE" }, "method", "method must be GET, or POST"},
		{"post not read-only", func(t *Tool) { t.Method = "POST" }, "method", "method POST is only for read-only lookups"},
		{"relative url", func(t *Tool) { t.URL = "/orders/{order_id}" }, "url", "url must be an absolute http:// or https:// URL"},
		{"ftp", func(t *Tool) { t.URL = "ftp://x/{order_id}" }, "url", "url must be an absolute"},
		{"placeholder in host", func(t *Tool) { t.URL = "https://{order_id}.example/x" }, "url", "url must spell out its host"},
		{"identity in host", func(t *Tool) { t.URL = "https://api{{user_id}}/x/{order_id}" }, "url", "url must spell out its host"},
		{"userinfo", func(t *Tool) { t.URL = "https://u:p@shop.example/{order_id}" }, "url", "url must not carry a user name"},
		{"fragment", func(t *Tool) { t.URL = "https://shop.example/{order_id}#x" }, "url", "url must not have a #fragment"},
		{"undeclared param", func(t *Tool) { t.URL = "https://shop.example/{order}" }, "url", "url {order} is not a declared parameter"},
		{"unknown identity", func(t *Tool) { t.URL = "https://shop.example/{order_id}?c={{email}}" }, "url", "url {{email}} is not an identity value"},
		{"param unused", func(t *Tool) { t.URL = "https://shop.example/orders" }, "params[0].name", `params[0].name "order_id" is not used in url`},
		{"bad template", func(t *Tool) { t.URL = "https://shop.example/{order_id" }, "url", `url has a "{" without its "}"`},
		{"param name", func(t *Tool) { t.Params[0].Name = "Order" }, "params[0].name", "params[0].name must be 1 to 40"},
		{"param pattern", func(t *Tool) { t.Params[0].Pattern = "([0-9]" }, "params[0].pattern", "params[0].pattern is not a valid regular expression"},
		{"header with param", func(t *Tool) { t.Headers = map[string]string{"X-Order": "{order_id}"} }, "headers[X-Order]", "headers[X-Order] may hold identity values"},
		{"header reserved", func(t *Tool) { t.Headers = map[string]string{"authorization": "x"} }, "headers[authorization]", "headers[authorization] is set by the call itself"},
		{"header newline", func(t *Tool) { t.Headers = map[string]string{"X-A": "a\r\nB: c"} }, "headers[X-A]", "headers[X-A] must be at most 1024 bytes"},
		{"auth kind", func(t *Tool) { t.Auth.Kind = "oauth" }, "auth.kind", "auth.kind must be none, bearer, basic or api_key"},
		{"auth secret", func(t *Tool) { t.Auth.Secret = "" }, "auth.secret", "auth.secret is required with auth kind bearer"},
		{"api key header", func(t *Tool) { t.Auth = Auth{Kind: "api_key", Secret: "k"} }, "auth.header", "auth.header must name the header"},
		{"basic user", func(t *Tool) { t.Auth = Auth{Kind: "basic", Secret: "p"} }, "auth.username", "auth.username is required"},
		{"trigger", func(t *Tool) { t.Triggers = []string{"(unclosed"} }, "triggers[0]", "triggers[0] is not a valid regular expression"},
		{"trigger group", func(t *Tool) { t.Triggers = []string{"order (?P<id>[0-9]+)"} }, "triggers[0]", "triggers[0] group (?P<id>...) names no declared parameter"},
		{"no fields", func(t *Tool) { t.Fields = nil }, "fields", "fields list 1 to 50"},
		{"field path", func(t *Tool) { t.Fields = []string{"a..b"} }, "fields[0]", `fields[0] "a..b" must be a dotted path`},
		{"no answer", func(t *Tool) { t.Answer = " " }, "answer", "answer is required"},
		{"answer outside fields", func(t *Tool) { t.Answer = "Note: {internal_note}" }, "answer", "answer {internal_note} is neither in fields nor a parameter"},
		{"answer identity", func(t *Tool) { t.Answer = "Hi {{user_id}}" }, "answer", "answer may show response fields and parameters only"},
		{"ask placeholder", func(t *Tool) { t.Ask = "Your {status}?" }, "ask", "ask may use {name} and {description}"},
		{"timeout", func(t *Tool) { t.Limits.TimeoutSeconds = 60 }, "limits.timeout_seconds", "limits.timeout_seconds must be between 0 (default 5) and 30"},
		{"max bytes", func(t *Tool) { t.Limits.MaxResponseBytes = 2 << 20 }, "limits.max_response_bytes", "limits.max_response_bytes must be between"},
		{"per minute", func(t *Tool) { t.Limits.CallsPerUserPerMinute = -1 }, "limits.calls_per_user_per_minute", "limits.calls_per_user_per_minute must be"},
		{"cache", func(t *Tool) { t.Limits.CacheSeconds = 100000 }, "limits.cache_seconds", "limits.cache_seconds must be"},
		{"enabled_for", func(t *Tool) { t.EnabledFor = []string{"webhook:x"} }, "enabled_for[0]", `enabled_for[0] "webhook:x" must be`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tool := orderTool()
			tc.change(&tool)
			_, err := Compile(tool)
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Invalid || e.Field != tc.field || !strings.HasPrefix(e.Message, tc.msg) {
				t.Fatalf("got %v (field %q), want field %q and message starting %q", err, fieldOf(e), tc.field, tc.msg)
			}
		})
	}
}

func fieldOf(e *apperr.Error) string {
	if e == nil {
		return ""
	}
	return e.Field
}

func TestRequestURLEscapesValues(t *testing.T) {
	tool := orderTool()
	tool.Params[0].Pattern = ""
	tool.URL = "https://shop.example/api/orders/{order_id}/items?q={order_id}&c={{user_id}}"
	c, err := Compile(tool)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ value, want string }{
		{"../admin", "https://shop.example/api/orders/..%2Fadmin/items?q=..%2Fadmin&c=u%2F1"},
		{"..", "https://shop.example/api/orders/%2E%2E/items?q=..&c=u%2F1"},
		{".", "https://shop.example/api/orders/%2E/items?q=.&c=u%2F1"},
		{"a?b=c", "https://shop.example/api/orders/a%3Fb=c/items?q=a%3Fb%3Dc&c=u%2F1"},
		{"x#frag", "https://shop.example/api/orders/x%23frag/items?q=x%23frag&c=u%2F1"},
		{"two words", "https://shop.example/api/orders/two%20words/items?q=two+words&c=u%2F1"},
		{"zoë&bis", "https://shop.example/api/orders/zo%C3%AB&bis/items?q=zo%C3%AB%26bis&c=u%2F1"},
	} {
		got, err := c.RequestURL(map[string]string{"order_id": tc.value}, Identity{UserID: "u/1"})
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q %v, want %q", tc.value, got, err, tc.want)
		}
	}
	if _, err := c.RequestURL(map[string]string{"order_id": "1"}, Identity{}); err == nil || err.Error() != "no value for {{user_id}}" {
		t.Errorf("missing identity: %v", err)
	}
}

func TestIdentityValues(t *testing.T) {
	id := Identity{UserID: "u1", ConversationID: "c1", Username: "Ann", Platform: "zendesk",
		Metadata: []byte(`{"plan":"pro","account":{"id":42,"tags":["a","b"]},"none":null}`)}
	for name, want := range map[string]string{"user_id": "u1", "conversation_id": "c1", "username": "Ann", "platform": "zendesk",
		"metadata.plan": "pro", "metadata.account.id": "42", "metadata.account.tags.1": "b"} {
		if got, ok := id.Value(name); !ok || got != want {
			t.Errorf("%s: %q %v, want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"metadata.none", "metadata.account", "metadata.missing", "metadata.account.tags.9", "email"} {
		if got, ok := id.Value(name); ok {
			t.Errorf("%s: got %q, want none", name, got)
		}
	}
}

func TestMaskedAndEnabledIn(t *testing.T) {
	tool := orderTool()
	if got := tool.Masked().Auth.Secret; got != "****6789" {
		t.Errorf("masked: %q", got)
	}
	tool.EnabledFor = []string{"webhook:3", "widget:9", "cli"}
	for _, tc := range []struct {
		config, widget uint64
		want           bool
	}{{3, 0, true}, {4, 0, false}, {0, 9, true}, {0, 3, false}, {0, 0, true}} {
		if got := tool.EnabledIn(tc.config, tc.widget); got != tc.want {
			t.Errorf("config %d widget %d: %v", tc.config, tc.widget, got)
		}
	}
}
