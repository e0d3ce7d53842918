package tools

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/internal/netguard"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

const adminToken = "cba_admin_test_token"

type apiEnv struct {
	srv *httptest.Server
	st  *store.Store
	api *fakeAPI
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	e := &apiEnv{api: newFakeAPI(t, jsonReply(shipped))}
	box, _ := secret.NewBox(bytes.Repeat([]byte{5}, secret.KeySize))
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true, Sealer: box})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	policy, _ := netguard.ParseAllowList("loopback")
	caller, err := NewCaller(Options{Policy: policy, Recorder: st})
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	NewHandler(NewManager(st, NewStep(st, caller, StepOptions{})), nil).Routes(r, httpapi.NewAdminAuth(secret.Hash(adminToken)).Require)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *apiEnv) do(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		if s, ok := body.(string); ok {
			b = []byte(s)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func TestToolsAPI(t *testing.T) {
	e := newAPIEnv(t)
	tool := orderTool()
	tool.URL = e.api.URL + "/api/orders/{order_id}?customer={{user_id}}"

	code, out := e.do(t, "POST", "/api/tools", adminToken, tool)
	if code != 201 || out["tool"].(map[string]any)["auth"].(map[string]any)["secret"] != "****6789" {
		t.Fatalf("create: %d %v", code, out)
	}
	if code, out = e.do(t, "POST", "/api/tools", adminToken, tool); code != 409 || out["field"] != "name" {
		t.Fatalf("duplicate: %d %v", code, out)
	}
	bad := orderTool()
	bad.Name, bad.Answer = "bad", "{internal_note}"
	if code, out = e.do(t, "POST", "/api/tools", adminToken, bad); code != 400 || out["field"] != "answer" ||
		!strings.HasPrefix(out["error"].(string), "answer {internal_note} is neither in fields") {
		t.Fatalf("invalid: %d %v", code, out)
	}
	if code, out = e.do(t, "POST", "/api/tools", adminToken, `{"name":"x","nmae":"y"}`); code != 400 || out["field"] != "nmae" {
		t.Fatalf("unknown field: %d %v", code, out)
	}

	// Replace with the masked secret sent back: the stored one is kept.
	tool.Auth.Secret = "****6789"
	tool.Description = "Order lookups."
	if code, out = e.do(t, "PUT", "/api/tools/order_status", adminToken, tool); code != 200 {
		t.Fatalf("replace: %d %v", code, out)
	}
	rec, err := e.st.ToolByName("order_status")
	if err != nil || rec.Secret != "sk_test_123456789" || !strings.Contains(string(rec.Spec), "Order lookups.") {
		t.Fatalf("stored after replace: %+v %v", rec, err)
	}
	if strings.Contains(string(rec.Spec), "sk_test") {
		t.Fatal("the secret is in the declaration's JSON")
	}

	code, out = e.do(t, "GET", "/api/tools", adminToken, nil)
	list := out["tools"].([]any)
	if code != 200 || len(list) != 1 || list[0].(map[string]any)["auth"].(map[string]any)["secret"] != "****6789" {
		t.Fatalf("list: %d %v", code, out)
	}

	code, out = e.do(t, "POST", "/api/tools/order_status/test", adminToken, TestRequest{Params: map[string]string{"order_id": "12345"}, AsUser: "cust-7"})
	res, _ := out["result"].(map[string]any)
	if code != 200 || res["answer"] != "Order 12345 is shipped, expected Friday." || res["status"] != 200.0 || res["outcome"] != "ok" {
		t.Fatalf("test: %d %v", code, out)
	}
	if got := e.api.last(t); got.URI != "/api/orders/12345?customer=cust-7" || got.Header.Get("Authorization") != "Bearer sk_test_123456789" {
		t.Fatalf("test call sent %s with %q", got.URI, got.Header.Get("Authorization"))
	}
	if code, out = e.do(t, "POST", "/api/tools/order_status/test", adminToken, TestRequest{Params: map[string]string{"order_id": "12"}}); code != 400 || out["field"] != "params.order_id" {
		t.Fatalf("bad param: %d %v", code, out)
	}
	code, out = e.do(t, "GET", "/api/tools/calls", adminToken, nil)
	if calls := out["calls"].([]any); code != 200 || len(calls) != 1 || calls[0].(map[string]any)["outcome"] != "ok" {
		t.Fatalf("calls: %d %v", code, out)
	}

	if code, _ = e.do(t, "DELETE", "/api/tools/order_status", adminToken, nil); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	if code, out = e.do(t, "GET", "/api/tools/order_status", adminToken, nil); code != 404 {
		t.Fatalf("after delete: %d %v", code, out)
	}
}

func TestToolsAPINeedsTheAdminToken(t *testing.T) {
	e := newAPIEnv(t)
	// An integration's incoming token is a credential of the platform's
	// webhook only.
	whToken := secret.NewToken("whk_")
	if err := e.st.CreateConfig(&store.WebhookConfig{Name: "zendesk", Provider: "zendesk", IsActive: true,
		IncomingTokenHash: secret.Hash(whToken), IncomingTokenLast4: whToken[len(whToken)-4:]}); err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{"", whToken} {
		for _, route := range [][2]string{{"GET", "/api/tools"}, {"POST", "/api/tools"}, {"DELETE", "/api/tools/x"}, {"POST", "/api/tools/x/test"}} {
			if code, _ := e.do(t, route[0], route[1], token, map[string]any{}); code != 401 {
				t.Errorf("%s %s with token %q: %d, want 401", route[0], route[1], token, code)
			}
		}
	}
}
