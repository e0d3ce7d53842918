package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

const testAdminToken = "admin-token-for-tests-0123456789"

func newConfigServer(t *testing.T) (*httptest.Server, *store.Store) {
	t.Helper()
	return newConfigServerWith(t, nil)
}

// newConfigServerWith serves the config API with the address policy p
// (nil: none).
func newConfigServerWith(t *testing.T, p *AddrPolicy) (*httptest.Server, *store.Store) {
	t.Helper()
	box, _ := secret.NewBox(bytes.Repeat([]byte{3}, 32))
	st, err := store.Open(t.TempDir(), store.Options{Sealer: box})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		st.Close()
	})
	r := mux.NewRouter()
	r.NotFoundHandler = httpapi.NotFound()
	r.MethodNotAllowedHandler = httpapi.MethodNotAllowed()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	NewHandler(NewConfigs(st).WithAddrPolicy(p), log).Routes(r, httpapi.NewAdminAuth(secret.Hash(testAdminToken)).Require)
	srv := httptest.NewServer(httpapi.Logging(log)(r))
	t.Cleanup(srv.Close)
	return srv, st
}

type apiResult struct {
	status int
	body   map[string]any
	header http.Header
}

func call(t *testing.T, srv *httptest.Server, method, path, token, ctype string, body io.Reader) apiResult {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s %s: body is not JSON: %q", method, path, data)
	}
	return apiResult{status: resp.StatusCode, body: m, header: resp.Header}
}

func adminJSON(t *testing.T, srv *httptest.Server, method, path, body string) apiResult {
	return call(t, srv, method, path, testAdminToken, "application/json", strings.NewReader(body))
}

const validConfig = `{"name":"Freshchat Integration","provider":"freshchat",
 "outgoing_webhook_url":"https://your-platform.example/webhook","auth_token":"your_bearer_token_wxyz",
 "custom_headers":{"X-API-Key":"your_api_key_1234","X-Platform":"freshchat"},
 "timeout_seconds":30,"retry_attempts":3,"is_active":true}`

func TestConfigLifecycle(t *testing.T) {
	srv, _ := newConfigServer(t)
	res := adminJSON(t, srv, "POST", "/api/webhook/config", validConfig)
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %v", res.status, res.body)
	}
	cfg := res.body["config"].(map[string]any)
	incoming := cfg["incoming_token"].(string)
	if !strings.HasPrefix(incoming, "cbi_") || len(incoming) != 36 {
		t.Fatalf("incoming_token not shown in full at creation: %q", incoming)
	}
	if s := cfg["signing_secret"].(string); !strings.HasPrefix(s, "whsec_") || len(s) != 50 {
		t.Fatalf("signing_secret not shown in full at creation: %q", s)
	}
	if cfg["auth_token"] != "****wxyz" {
		t.Fatalf("auth_token = %v, want masked", cfg["auth_token"])
	}

	res = adminJSON(t, srv, "GET", "/api/webhook/config/1", "")
	got := res.body["config"].(map[string]any)
	want := map[string]any{
		"id": 1.0, "name": "Freshchat Integration", "provider": "freshchat",
		"outgoing_webhook_url": "https://your-platform.example/webhook", "auth_token": "****wxyz",
		"timeout_seconds": 30.0, "retry_attempts": 3.0, "is_active": true, "response_mode": "sync",
		"incoming_token": "****" + incoming[len(incoming)-4:],
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("GET field %s = %v, want %v", k, got[k], v)
		}
	}
	if h := got["custom_headers"].(map[string]any); h["X-API-Key"] != "****1234" {
		t.Errorf("custom header not masked: %v", h)
	}
	if s := got["signing_secret"].(string); !strings.HasPrefix(s, "****") || len(s) != 8 {
		t.Errorf("signing_secret not masked on read: %q", s)
	}

	res = adminJSON(t, srv, "PUT", "/api/webhook/config/1", `{"retry_attempts":5,"is_active":false}`)
	got = res.body["config"].(map[string]any)
	if res.status != 200 || got["retry_attempts"] != 5.0 || got["is_active"] != false || got["name"] != "Freshchat Integration" {
		t.Fatalf("partial update: %d %v", res.status, res.body)
	}
	res = adminJSON(t, srv, "PUT", "/api/webhook/config/1", `{"rotate_incoming_token":true}`)
	newTok := res.body["config"].(map[string]any)["incoming_token"].(string)
	if !strings.HasPrefix(newTok, "cbi_") || newTok == incoming {
		t.Fatalf("rotation did not return a new token: %q", newTok)
	}

	res = adminJSON(t, srv, "GET", "/api/webhook/config", "")
	if list := res.body["configs"].([]any); len(list) != 1 {
		t.Fatalf("list = %v", res.body)
	}
	if res = adminJSON(t, srv, "DELETE", "/api/webhook/config/1", ""); res.status != 200 {
		t.Fatalf("delete: %d", res.status)
	}
	if res = adminJSON(t, srv, "GET", "/api/webhook/config/1", ""); res.status != 404 {
		t.Fatalf("get deleted: %d", res.status)
	}
}

func TestConfigBadInput(t *testing.T) {
	srv, _ := newConfigServer(t)
	if res := adminJSON(t, srv, "POST", "/api/webhook/config", validConfig); res.status != 201 {
		t.Fatalf("seed create: %d", res.status)
	}
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		field, msg                      string
	}{
		{"malformed JSON", "POST", "/api/webhook/config", "application/json", `{"name":`, 400, "", "malformed"},
		{"not an object", "POST", "/api/webhook/config", "application/json", `"name"`, 400, "", "JSON object"},
		{"empty body", "POST", "/api/webhook/config", "application/json", ``, 400, "", "empty"},
		{"unknown field", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"p","colour":"red"}`, 400, "colour", "unknown field"},
		{"wrong type", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"p","retry_attempts":"3"}`, 400, "retry_attempts", "must be a number"},
		{"missing name", "POST", "/api/webhook/config", "application/json", `{"provider":"p"}`, 400, "name", "name is required"},
		{"missing provider", "POST", "/api/webhook/config", "application/json", `{"name":"x"}`, 400, "provider", "provider is required"},
		{"bad provider", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"Fresh Chat"}`, 400, "provider", "lower-case slug"},
		{"relative url", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"p","outgoing_webhook_url":"/hook"}`, 400, "outgoing_webhook_url", "absolute"},
		{"file url", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"p","outgoing_webhook_url":"file:///etc/passwd"}`, 400, "outgoing_webhook_url", "http"},
		{"userinfo url", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"p","outgoing_webhook_url":"https://u:p@example.com/"}`, 400, "outgoing_webhook_url", "credentials"},
		{"timeout 0", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"p","timeout_seconds":0}`, 400, "timeout_seconds", "between 1 and 300"},
		{"timeout 301", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"p","timeout_seconds":301}`, 400, "timeout_seconds", "between 1 and 300"},
		{"retries 11", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"p","retry_attempts":11}`, 400, "retry_attempts", "between 0 and 10"},
		{"hop-by-hop header", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"p","custom_headers":{"Transfer-Encoding":"chunked"}}`, 400, "custom_headers", "hop-by-hop"},
		{"Host header", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"p","custom_headers":{"Host":"evil"}}`, 400, "custom_headers", "Host"},
		{"bad header name", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"p","custom_headers":{"X Bad":"v"}}`, 400, "custom_headers", "not a valid"},
		{"CRLF in header value", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"p","custom_headers":{"X-A":"v\r\nX-B: w"}}`, 400, "custom_headers", "line breaks"},
		{"bad mode", "POST", "/api/webhook/config", "application/json", `{"name":"x","provider":"p","response_mode":"later"}`, 400, "response_mode", "sync"},
		{"duplicate name", "POST", "/api/webhook/config", "application/json", `{"name":"freshchat integration","provider":"p"}`, 409, "name", "already exists"},
		{"not JSON", "POST", "/api/webhook/config", "text/plain", `{}`, 415, "", "application/json"},
		{"10 MB body", "POST", "/api/webhook/config", "application/json", `{"name":"` + strings.Repeat("a", 10<<20) + `"}`, 413, "", "limit"},
		{"unknown id", "GET", "/api/webhook/config/999", "", ``, 404, "", "not found"},
		{"bad id", "GET", "/api/webhook/config/abc", "", ``, 400, "id", "positive integer"},
		{"update unknown id", "PUT", "/api/webhook/config/999", "application/json", `{"retry_attempts":1}`, 404, "", "not found"},
		{"delete unknown id", "DELETE", "/api/webhook/config/999", "", ``, 404, "", "not found"},
		{"method not allowed", "PATCH", "/api/webhook/config/1", "application/json", `{}`, 405, "", "not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := call(t, srv, c.method, c.path, testAdminToken, c.ctype, strings.NewReader(c.body))
			if res.status != c.status {
				t.Fatalf("status = %d, want %d (%v)", res.status, c.status, res.body)
			}
			if res.body["success"] != false {
				t.Errorf("success = %v", res.body["success"])
			}
			msg, _ := res.body["error"].(string)
			if !strings.Contains(msg, c.msg) {
				t.Errorf("error %q does not contain %q", msg, c.msg)
			}
			if f, _ := res.body["field"].(string); f != c.field {
				t.Errorf("field = %q, want %q", f, c.field)
			}
		})
	}
}

func TestConfigAPIRequiresAdminToken(t *testing.T) {
	srv, _ := newConfigServer(t)
	near := testAdminToken[:len(testAdminToken)-1] + "X"
	for name, token := range map[string]string{"missing": "", "wrong": "nope", "near-right": near, "8 KB": strings.Repeat("a", 8192)} {
		res := call(t, srv, "GET", "/api/webhook/config", token, "", nil)
		if res.status != 401 {
			t.Errorf("%s token: status %d", name, res.status)
		}
		if res.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s token: no WWW-Authenticate", name)
		}
		if msg := res.body["error"].(string); strings.Contains(msg, testAdminToken[:6]) {
			t.Errorf("%s token: error leaks the token: %q", name, msg)
		}
	}
	// The near-right and the wildly wrong token get the same answer.
	a := call(t, srv, "GET", "/api/webhook/config", near, "", nil)
	b := call(t, srv, "GET", "/api/webhook/config", "x", "", nil)
	if a.body["error"] != b.body["error"] {
		t.Errorf("near-right and wrong tokens answered differently: %v vs %v", a.body, b.body)
	}
}

// Reads mask secrets; an update that sends a mask back must not store the
// mask as the secret. It is refused, naming the field, and the stored
// secrets stay as they were.
func TestConfigUpdateRefusesMaskedSecrets(t *testing.T) {
	srv, st := newConfigServer(t)
	if res := adminJSON(t, srv, "POST", "/api/webhook/config", validConfig); res.status != 201 {
		t.Fatalf("create: %d %v", res.status, res.body)
	}
	read := adminJSON(t, srv, "GET", "/api/webhook/config/1", "").body["config"].(map[string]any)
	maskedHeaders, _ := json.Marshal(read["custom_headers"])
	if read["auth_token"] != "****wxyz" || !strings.Contains(string(maskedHeaders), `"X-API-Key":"****1234"`) {
		t.Fatalf("reads are not masked as this test expects: %v %s", read["auth_token"], maskedHeaders)
	}
	cases := []struct {
		name, method, path, body, field, msg string
	}{
		{"auth_token as read", "PUT", "/api/webhook/config/1", `{"auth_token":"****wxyz"}`, "auth_token", `send the real token, "" to remove it, or leave auth_token out`},
		{"short auth_token mask", "PUT", "/api/webhook/config/1", `{"auth_token":"****"}`, "auth_token", "masked value"},
		{"custom_headers as read", "PUT", "/api/webhook/config/1", `{"custom_headers":` + string(maskedHeaders) + `}`, "custom_headers",
			`custom header "X-API-Key": the value is the masked one reads return; send every header's real value, or leave custom_headers out`},
		{"one header masked", "PUT", "/api/webhook/config/1", `{"custom_headers":{"X-API-Key":"new_key_5678","X-Platform":"****"}}`, "custom_headers", `custom header "X-Platform"`},
		{"incoming_secret mask", "PUT", "/api/webhook/config/1", `{"incoming_secret":"****abcd"}`, "incoming_secret", "leave incoming_secret out"},
		{"mask on create", "POST", "/api/webhook/config", `{"name":"other","provider":"p","auth_token":"****wxyz"}`, "auth_token", "masked value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := adminJSON(t, srv, c.method, c.path, c.body)
			msg, _ := res.body["error"].(string)
			if res.status != 400 || res.body["field"] != c.field || !strings.Contains(msg, c.msg) {
				t.Fatalf("status %d field %v error %q; want 400 field %s saying %q", res.status, res.body["field"], msg, c.field, c.msg)
			}
		})
	}
	c, err := st.Config(1)
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthToken != "your_bearer_token_wxyz" || c.CustomHeaders["X-API-Key"] != "your_api_key_1234" || c.CustomHeaders["X-Platform"] != "freshchat" {
		t.Fatalf("stored secrets changed: auth %q headers %v", c.AuthToken, c.CustomHeaders)
	}
	// Real values, and "" for the token, are still accepted.
	res := adminJSON(t, srv, "PUT", "/api/webhook/config/1", `{"custom_headers":{"X-API-Key":"new_key_5678"},"auth_token":""}`)
	if res.status != 200 {
		t.Fatalf("update with real values: %d %v", res.status, res.body)
	}
	if c, _ := st.Config(1); c.AuthToken != "" || len(c.CustomHeaders) != 1 || c.CustomHeaders["X-API-Key"] != "new_key_5678" {
		t.Fatalf("after update: auth %q headers %v", c.AuthToken, c.CustomHeaders)
	}
}

// With an address policy, an outgoing URL whose host is an address the
// policy refuses is refused when saved (400 naming the field and the
// setting to change), on create and on update; host names are left to
// the check at delivery, and the allow list is honoured.
func TestConfigRefusesOutgoingURLsThePolicyBlocks(t *testing.T) {
	policy, err := ParseAllowList("10.1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := newConfigServerWith(t, policy)
	create := func(name, u string) apiResult {
		return adminJSON(t, srv, "POST", "/api/webhook/config",
			fmt.Sprintf(`{"name":%q,"provider":"custom","outgoing_webhook_url":%q}`, name, u))
	}
	for i, tc := range []struct{ url, want string }{
		{"http://127.0.0.1:8080/hook", "--allow-outgoing"},
		{"http://localhost/hook", "--allow-outgoing"},
		{"http://[::1]/hook", "--allow-outgoing"},
		{"http://10.0.0.1/hook", "--allow-outgoing"},
		{"http://192.168.1.1/hook", "--allow-outgoing"},
		{"http://100.64.0.1/hook", "--allow-outgoing"},
		{"http://[::ffff:127.0.0.1]/hook", "--allow-outgoing"},
		{"http://169.254.169.254/latest/meta-data/", "never allowed"},
		{"http://2130706433/hook", "write the IP address plainly"},
	} {
		res := create(fmt.Sprintf("blocked %d", i), tc.url)
		msg, _ := res.body["error"].(string)
		if res.status != http.StatusBadRequest || res.body["field"] != "outgoing_webhook_url" || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %v; want 400 on outgoing_webhook_url saying %q", tc.url, res.status, res.body, tc.want)
		}
	}
	for i, u := range []string{"https://platform.example/hook", "http://10.1.2.3/hook", ""} {
		if res := create(fmt.Sprintf("allowed %d", i), u); res.status != http.StatusCreated {
			t.Errorf("%q: %d %v; want 201", u, res.status, res.body)
		}
	}
	created := create("moved later", "https://platform.example/hook")
	id := int(created.body["config"].(map[string]any)["id"].(float64))
	res := adminJSON(t, srv, "PUT", fmt.Sprintf("/api/webhook/config/%d", id), `{"outgoing_webhook_url":"http://127.0.0.1/hook"}`)
	if res.status != http.StatusBadRequest || res.body["field"] != "outgoing_webhook_url" {
		t.Errorf("update to loopback: %d %v; want 400", res.status, res.body)
	}
	// Changing another field of a config leaves its stored URL alone.
	if res := adminJSON(t, srv, "PUT", fmt.Sprintf("/api/webhook/config/%d", id), `{"retry_attempts":2}`); res.status != http.StatusOK {
		t.Errorf("update of retries: %d %v", res.status, res.body)
	}
}
