package webhook

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/secret"
)

const validChatwoot = `{"name":"Chatwoot","provider":"chatwoot","adapter":"native",
 "api_url":"https://chat.example.com/","api_token":"cw-api-token-9876","platform_secret":"cw-webhook-secret-5432",
 "account":"7","bot_id":"agent_bot:3","handoff_target":"12"}`

func TestNativeConfigCreateShowsMaskedSettingsAndEventsPath(t *testing.T) {
	srv, st := newConfigServer(t)
	res := adminJSON(t, srv, "POST", "/api/webhook/config", validChatwoot)
	if res.status != 201 {
		t.Fatalf("create: %d %v", res.status, res.body)
	}
	data := res.body["config"].(map[string]any)
	want := map[string]any{
		"adapter": "native", "api_url": "https://chat.example.com", "api_token": secret.Mask("cw-api-token-9876"),
		"platform_secret": secret.Mask("cw-webhook-secret-5432"), "account": "7", "bot_id": "agent_bot:3",
		"handoff": "native", "handoff_target": "12", "events_path": "/api/platforms/1/events", "response_mode": "async",
	}
	for k, v := range want {
		if data[k] != v {
			t.Errorf("%s = %v, want %v", k, data[k], v)
		}
	}
	if _, ok := data["accept_unsigned"]; ok {
		t.Errorf("accept_unsigned shown while off: %v", data["accept_unsigned"])
	}
	c, err := st.Config(1)
	if err != nil {
		t.Fatal(err)
	}
	if c.APIToken != "cw-api-token-9876" || c.Secret != "cw-webhook-secret-5432" || !c.Native() {
		t.Fatalf("stored settings = %+v", c.PlatformSettings)
	}
	// A masked value sent back is refused, naming the field.
	res = adminJSON(t, srv, "PUT", "/api/webhook/config/1", `{"api_token":"`+secret.Mask("cw-api-token-9876")+`"}`)
	if res.status != 400 || res.body["field"] != "api_token" {
		t.Fatalf("masked api_token: %d %v", res.status, res.body)
	}
	// Turning the signature off needs accept_unsigned.
	res = adminJSON(t, srv, "PUT", "/api/webhook/config/1", `{"platform_secret":""}`)
	if res.status != 400 || res.body["field"] != "platform_secret" {
		t.Fatalf("secret removed without accept_unsigned: %d %v", res.status, res.body)
	}
	res = adminJSON(t, srv, "PUT", "/api/webhook/config/1", `{"platform_secret":"","accept_unsigned":true}`)
	if res.status != 200 || res.body["config"].(map[string]any)["accept_unsigned"] != true {
		t.Fatalf("accept_unsigned: %d %v", res.status, res.body)
	}
}

func TestGenericConfigViewSaysGeneric(t *testing.T) {
	srv, _ := newConfigServer(t)
	res := adminJSON(t, srv, "POST", "/api/webhook/config", validConfig)
	if res.status != 201 {
		t.Fatalf("create: %d", res.status)
	}
	data := res.body["config"].(map[string]any)
	if data["adapter"] != "generic" {
		t.Errorf("adapter = %v, want generic", data["adapter"])
	}
	for _, k := range []string{"api_url", "api_token", "platform_secret", "account", "events_path"} {
		if _, ok := data[k]; ok {
			t.Errorf("generic config shows %s", k)
		}
	}
}

func TestNativeConfigBadInput(t *testing.T) {
	srv, _ := newConfigServer(t)
	with := func(repl ...string) string { return strings.NewReplacer(repl...).Replace(validChatwoot) }
	cases := []struct {
		name, body, field, msg string
	}{
		{"bad adapter", with(`"native"`, `"magic"`), "adapter", "generic"},
		{"provider without adapter", with(`"chatwoot"`, `"slack"`, `"name":"Chatwoot"`, `"name":"x"`), "adapter", "available for provider chatwoot"},
		{"no api_url", with(`"api_url":"https://chat.example.com/",`, ``), "api_url", "required"},
		{"api_url with query", with(`chat.example.com/`, `chat.example.com/?token=1`), "api_url", "without credentials, query"},
		{"api_url not http", with(`https://chat.example.com/`, `ftp://chat.example.com`), "api_url", "http"},
		{"no api_token", with(`"api_token":"cw-api-token-9876",`, ``), "api_token", "required"},
		{"no secret", with(`"platform_secret":"cw-webhook-secret-5432",`, ``), "platform_secret", "accept_unsigned"},
		{"account not a number", with(`"account":"7"`, `"account":"acme"`), "account", "Chatwoot account id"},
		{"account with slash", with(`"account":"7"`, `"account":"7/../8"`), "account", "without /"},
		{"bad handoff", with(`"handoff_target"`, `"handoff":"email","handoff_target"`), "handoff", "console"},
		{"outgoing url too", with(`"adapter"`, `"outgoing_webhook_url":"https://x.example/hook","adapter"`), "outgoing_webhook_url", "leave outgoing_webhook_url empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := adminJSON(t, srv, "POST", "/api/webhook/config", c.body)
			if res.status != 400 {
				t.Fatalf("status = %d, want 400 (%v)", res.status, res.body)
			}
			if f, _ := res.body["field"].(string); f != c.field {
				t.Errorf("field = %q, want %q", f, c.field)
			}
			if msg, _ := res.body["error"].(string); !strings.Contains(msg, c.msg) {
				t.Errorf("error %q does not contain %q", msg, c.msg)
			}
		})
	}
}

func TestNativeConfigRefusesAPIURLsThePolicyBlocks(t *testing.T) {
	p, err := ParseAllowList("")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := newConfigServerWith(t, p)
	body := strings.Replace(validChatwoot, "https://chat.example.com/", "http://127.0.0.1:3000", 1)
	res := adminJSON(t, srv, "POST", "/api/webhook/config", body)
	if res.status != 400 || res.body["field"] != "api_url" {
		t.Fatalf("loopback api_url: %d %v", res.status, res.body)
	}
}

func TestNativeZendeskConfigNeedsAppIDAndKeyPair(t *testing.T) {
	srv, _ := newConfigServer(t)
	body := func(account, token string) string {
		return `{"name":"Zendesk","provider":"zendesk","adapter":"native","api_url":"https://api.smooch.io",
		 "api_token":"` + token + `","platform_secret":"sc-secret","account":"` + account + `","bot_id":"sw_bot"}`
	}
	for _, tc := range []struct{ account, token, field string }{
		{"", "key_1:secret", "account"},
		{"app_1", "no-colon", "api_token"},
		{"app_1", ":secret", "api_token"},
	} {
		res := adminJSON(t, srv, "POST", "/api/webhook/config", body(tc.account, tc.token))
		if res.status != 400 || res.body["field"] != tc.field {
			t.Errorf("account %q token %q: %d %v, want 400 on %s", tc.account, tc.token, res.status, res.body, tc.field)
		}
	}
	if res := adminJSON(t, srv, "POST", "/api/webhook/config", body("app_1", "key_1:secret")); res.status != 201 {
		t.Fatalf("valid zendesk: %d %v", res.status, res.body)
	}
}

func TestNativeIntercomConfigNeedsTheBotsAdminID(t *testing.T) {
	srv, _ := newConfigServer(t)
	body := `{"name":"Intercom","provider":"intercom","adapter":"native","api_url":"https://api.intercom.io",
	 "api_token":"ic-token","platform_secret":"client-secret"`
	if res := adminJSON(t, srv, "POST", "/api/webhook/config", body+`}`); res.status != 400 || res.body["field"] != "bot_id" {
		t.Fatalf("no bot_id: %d %v", res.status, res.body)
	}
	if res := adminJSON(t, srv, "POST", "/api/webhook/config", body+`,"bot_id":"7001"}`); res.status != 201 {
		t.Fatalf("valid intercom: %d %v", res.status, res.body)
	}
}

func TestNativeFreshchatConfigNeedsAnRSAPublicKey(t *testing.T) {
	srv, _ := newConfigServer(t)
	body := func(secret string) string {
		return `{"name":"Freshchat","provider":"freshchat","adapter":"native","api_url":"https://acme.freshchat.com/v2",
		 "api_token":"fc-key","bot_id":"agent-bot-7001","platform_secret":` + secret + `}`
	}
	if res := adminJSON(t, srv, "POST", "/api/webhook/config", body(`"not a pem"`)); res.status != 400 || res.body["field"] != "platform_secret" {
		t.Fatalf("not a PEM: %d %v", res.status, res.body)
	}
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pemText, _ := json.Marshal(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	if res := adminJSON(t, srv, "POST", "/api/webhook/config", body(string(pemText))); res.status != 201 {
		t.Fatalf("valid freshchat: %d %v", res.status, res.body)
	}
}
