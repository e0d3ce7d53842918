package faq

import (
	"encoding/json"
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

const testToken = "cba_test_admin_token"

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("check: %v", err)
		}
		st.Close()
	})
	return st
}

func newAPI(t *testing.T) (*httptest.Server, *Service) {
	t.Helper()
	s, err := Open(openStore(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	NewHandler(s, slog.New(slog.DiscardHandler)).Routes(r, httpapi.NewAdminAuth(secret.Hash(testToken)).Require)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, s
}

// call sends body (JSON unless contentType says otherwise) and decodes
// the JSON answer.
func call(t *testing.T, srv *httptest.Server, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func TestFAQAPILifecycle(t *testing.T) {
	srv, s := newAPI(t)
	code, out := call(t, srv, http.MethodPost, "/api/faq", testToken,
		`{"question":"How do I reset my password?","alternatives":["forgot password"],"answer":"Use the Forgot password link."}`)
	if code != http.StatusCreated || out["success"] != true {
		t.Fatalf("create: %d %v", code, out)
	}
	f := out["faq"].(map[string]any)
	if f["id"] != 1.0 || f["question"] != "How do I reset my password?" || f["answer"] != "Use the Forgot password link." ||
		len(f["alternatives"].([]any)) != 1 || f["created_at"] == "" {
		t.Fatalf("created %v", f)
	}
	// The matcher knows it at once.
	if p, _, ok := s.Match("I forgot my password"); !ok || p.ID != 1 {
		t.Fatalf("match after create: %+v %t", p, ok)
	}
	code, out = call(t, srv, http.MethodPost, "/api/faq/match", testToken, `{"question":"how can I reset my password"}`)
	if code != http.StatusOK || out["matched"] != true || out["score"] != 1.0 || out["faq"].(map[string]any)["id"] != 1.0 {
		t.Fatalf("match: %d %v", code, out)
	}
	code, out = call(t, srv, http.MethodPost, "/api/faq/match", testToken, `{"question":"how do I reset my router"}`)
	if code != http.StatusOK || out["matched"] != false || out["faq"] != nil {
		t.Fatalf("near miss: %d %v", code, out)
	}

	// PUT changes only the fields given.
	code, out = call(t, srv, http.MethodPut, "/api/faq/1", testToken, `{"answer":"Settings, then Security."}`)
	if f := out["faq"].(map[string]any); code != http.StatusOK || f["answer"] != "Settings, then Security." || f["question"] != "How do I reset my password?" {
		t.Fatalf("update: %d %v", code, out)
	}
	if p, _, _ := s.Match("reset password"); p.Answer != "Settings, then Security." {
		t.Fatalf("matcher after update answers %q", p.Answer)
	}
	code, out = call(t, srv, http.MethodGet, "/api/faq/1", testToken, "")
	if code != http.StatusOK || out["faq"].(map[string]any)["answer"] != "Settings, then Security." {
		t.Fatalf("show: %d %v", code, out)
	}
	code, out = call(t, srv, http.MethodGet, "/api/faq", testToken, "")
	if code != http.StatusOK || len(out["faqs"].([]any)) != 1 {
		t.Fatalf("list: %d %v", code, out)
	}
	if code, out = call(t, srv, http.MethodDelete, "/api/faq/1", testToken, ""); code != http.StatusOK || out["success"] != true {
		t.Fatalf("delete: %d %v", code, out)
	}
	if _, _, ok := s.Match("reset password"); ok {
		t.Fatal("a deleted pair still matches")
	}
	code, out = call(t, srv, http.MethodGet, "/api/faq", testToken, "")
	if code != http.StatusOK || len(out["faqs"].([]any)) != 0 {
		t.Fatalf("list after delete: %d %v", code, out)
	}
}

func TestFAQAPIRefusals(t *testing.T) {
	srv, _ := newAPI(t)
	if code, _ := call(t, srv, http.MethodPost, "/api/faq", testToken, `{"question":"Opening hours?","answer":"9 to 5."}`); code != http.StatusCreated {
		t.Fatalf("seed: %d", code)
	}
	long := strings.Repeat("a", 4001)
	for _, tc := range []struct {
		name, method, path, token, body string
		code                            int
		field                           string
	}{
		{"no token", "GET", "/api/faq", "", "", 401, ""},
		{"wrong token", "GET", "/api/faq", "cba_wrong", "", 401, ""},
		{"no token on create", "POST", "/api/faq", "", `{"question":"q","answer":"a"}`, 401, ""},
		{"question of the wrong type", "POST", "/api/faq", testToken, `{"question":5,"answer":"a"}`, 400, "question"},
		{"alternatives of the wrong type", "POST", "/api/faq", testToken, `{"question":"q","answer":"a","alternatives":"x"}`, 400, "alternatives"},
		{"unknown field", "POST", "/api/faq", testToken, `{"question":"q","answer":"a","score":1}`, 400, "score"},
		{"no question", "POST", "/api/faq", testToken, `{"answer":"a"}`, 400, "question"},
		{"no answer", "POST", "/api/faq", testToken, `{"question":"q"}`, 400, "answer"},
		{"blank answer", "POST", "/api/faq", testToken, `{"question":"refunds","answer":"  "}`, 400, "answer"},
		{"answer too long", "POST", "/api/faq", testToken, `{"question":"refunds","answer":"` + long + `"}`, 400, "answer"},
		{"control character", "POST", "/api/faq", testToken, `{"question":"q\u0007","answer":"a"}`, 400, "question"},
		{"duplicate question", "POST", "/api/faq", testToken, `{"question":"opening  HOURS","answer":"a"}`, 409, "question"},
		{"body over 1 MB", "POST", "/api/faq", testToken, `{"question":"q","answer":"` + strings.Repeat("a", 1<<20) + `"}`, 413, ""},
		{"not an object", "POST", "/api/faq", testToken, `["q","a"]`, 400, ""},
		{"unknown id", "GET", "/api/faq/99", testToken, "", 404, ""},
		{"update unknown id", "PUT", "/api/faq/99", testToken, `{"answer":"a"}`, 404, ""},
		{"delete unknown id", "DELETE", "/api/faq/99", testToken, "", 404, ""},
		{"id not a number", "GET", "/api/faq/abc", testToken, "", 400, "id"},
		{"id zero", "DELETE", "/api/faq/0", testToken, "", 400, "id"},
		{"blank answer on update", "PUT", "/api/faq/1", testToken, `{"answer":""}`, 400, "answer"},
		{"empty import", "POST", "/api/faq/import", testToken, `{"faqs":[]}`, 400, "faqs"},
		{"import with a bad pair", "POST", "/api/faq/import", testToken, `{"faqs":[{"question":"refunds","answer":"b"},{"question":"returns","answer":""}]}`, 400, "faqs[1].answer"},
		{"question without a word to match", "POST", "/api/faq", testToken, `{"question":"How do I?","answer":"a"}`, 400, "question"},
		{"renamed to a question without a word", "PUT", "/api/faq/1", testToken, `{"question":"please help"}`, 400, "question"},
		{"import of a question without a word", "POST", "/api/faq/import", testToken, `{"faqs":[{"question":"refunds","answer":"b"},{"question":"what is it?","answer":"c"}]}`, 400, "faqs[1].question"},
		{"match without a question", "POST", "/api/faq/match", testToken, `{}`, 400, "question"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := call(t, srv, tc.method, tc.path, tc.token, tc.body)
			if code != tc.code || out["success"] != false || out["error"] == "" {
				t.Fatalf("%d %v; want %d", code, out, tc.code)
			}
			if tc.field != "" && out["field"] != tc.field {
				t.Fatalf("field = %v, want %q (%v)", out["field"], tc.field, out["error"])
			}
		})
	}
	// Nothing refused was stored, and the refused import left no pair.
	code, out := call(t, srv, http.MethodGet, "/api/faq", testToken, "")
	if code != http.StatusOK || len(out["faqs"].([]any)) != 1 {
		t.Fatalf("after refusals: %d %v", code, out)
	}
}

func TestFAQAPIImport(t *testing.T) {
	srv, s := newAPI(t)
	body := `{"faqs":[{"question":"Do you ship to the USA?","answer":"No."},{"question":"Can I pay with PayPal?","alternatives":["paypal accepted?"],"answer":"Yes."}]}`
	code, out := call(t, srv, http.MethodPost, "/api/faq/import", testToken, body)
	if code != http.StatusOK || out["added"] != 2.0 || out["updated"] != 0.0 || out["unchanged"] != 0.0 {
		t.Fatalf("import: %d %v", code, out)
	}
	if p, _, ok := s.Match("is paypal accepted"); !ok || p.Answer != "Yes." {
		t.Fatalf("match after import: %+v %t", p, ok)
	}
	code, out = call(t, srv, http.MethodPost, "/api/faq/import", testToken, strings.Replace(body, `"No."`, `"Not yet."`, 1))
	if code != http.StatusOK || out["added"] != 0.0 || out["updated"] != 1.0 || out["unchanged"] != 1.0 {
		t.Fatalf("second import: %d %v", code, out)
	}
}
