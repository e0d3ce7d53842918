package cmd

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/client"
)

// faqReply is the incoming webhook's answer with its sources.
type faqReply struct {
	Success  bool `json:"success"`
	Response struct {
		Answer       string `json:"answer"`
		ResponseType string `json:"response_type"`
		Sources      []struct {
			Title  string  `json:"title"`
			Source string  `json:"source"`
			Score  float64 `json:"score"`
		} `json:"sources"`
	} `json:"response"`
}

// TestCuratedAnswerEndToEnd: over loopback, a question the knowledge base
// answers extractively is answered by the curated pair as soon as `chatbot
// faq add` (through the running server's API) adds it: in the webhook's
// answer and in the delivery to the platform. A near miss still gets the
// knowledge base, and an integration's incoming token cannot reach
// /api/faq.
func TestCuratedAnswerEndToEnd(t *testing.T) {
	root := t.TempDir()
	doc := filepath.Join(root, "docs", "account.md")
	if err := os.MkdirAll(filepath.Dir(doc), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(doc, []byte("# Account\n\nTo reset your password, open Settings and choose Security. "+
		"You can reset the router from its own admin page.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	received := make(chan e2ePayload, 16)
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p e2ePayload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			t.Errorf("platform got a bad body: %v", err)
		}
		received <- p
	}))
	defer platform.Close()
	a, _ := startApp(t, config{AdminToken: e2eAdmin, Embedder: "builtin", KnowledgeRoots: []string{root},
		AllowOutgoing: "127.0.0.0/8", Answer: answerConfig{LLM: llmNone}})
	e := &e2e{t: t, base: "http://" + a.Addr(), received: received}
	ctx := context.Background()
	if _, err := client.New(e.base, e2eAdmin).Ingest(ctx, client.IngestRequest{Paths: []string{filepath.Join(root, "docs")}}); err != nil {
		t.Fatal(err)
	}
	var created struct {
		Config struct {
			IncomingToken string `json:"incoming_token"`
		} `json:"config"`
	}
	if s := e.do("POST", "/api/webhook/config", e2eAdmin, map[string]any{"name": "Freshchat", "provider": "freshchat",
		"outgoing_webhook_url": platform.URL, "retry_attempts": 1, "timeout_seconds": 5}, &created); s != 201 {
		t.Fatalf("create config: %d", s)
	}
	e.incoming = created.Config.IncomingToken
	ask := func(text string) faqReply {
		t.Helper()
		var r faqReply
		if s := e.do("POST", "/api/webhook/incoming", e.incoming, map[string]any{"user_id": "external_user_123",
			"conversation_id": "conv_456", "platform": "freshchat", "message": text}, &r); s != 200 || !r.Success {
			t.Fatalf("incoming %q: %d %+v", text, s, r)
		}
		return r
	}

	if r := ask("How do I reset my password?"); r.Response.ResponseType != "extractive" {
		t.Fatalf("before the curated answer: %+v", r)
	}
	e.next()

	cli := mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": e2eAdmin})
	const answer = "Use the **Forgot password** link on the sign-in page; the email arrives within a minute."
	out, _, err := run(t, cli, "faq", "add", "--data-dir", a.cfg.DataDir,
		"--question", "How do I reset my password?", "--alt", "I forgot my password", "--answer", answer)
	if err != nil || out != "curated answer 1 added: How do I reset my password?\n" {
		t.Fatalf("faq add: %q, %v", out, err)
	}

	r := ask("how can I reset my password")
	if r.Response.ResponseType != "curated" || r.Response.Answer != answer || len(r.Response.Sources) != 1 ||
		r.Response.Sources[0].Title != "FAQ: How do I reset my password?" || r.Response.Sources[0].Source != "faq:1" || r.Response.Sources[0].Score != 1 {
		t.Fatalf("curated reply = %+v", r)
	}
	e.check(e.next(), "curated", "Assistant", "bot", answer, "")
	if r := ask("how do I reset my router?"); r.Response.ResponseType == "curated" {
		t.Fatalf("near miss answered by the curated pair: %+v", r)
	}
	e.next()

	// The integration's token is no admin token.
	for _, m := range []string{"GET", "POST"} {
		var refused struct {
			Success bool   `json:"success"`
			Error   string `json:"error"`
		}
		if s := e.do(m, "/api/faq", e.incoming, map[string]string{"question": "q", "answer": "a"}, &refused); s != 401 || refused.Success {
			t.Fatalf("%s /api/faq with an incoming token: %d %+v", m, s, refused)
		}
		if s := e.do(m, "/api/faq/1", e.incoming, nil, &refused); s == 200 {
			t.Fatalf("%s /api/faq/1 with an incoming token: %d", m, s)
		}
	}

	// Import, test, list and remove through the server, too.
	csvFile := filepath.Join(t.TempDir(), "answers.csv")
	if err := os.WriteFile(csvFile, []byte("question,answer\nDo you ship to the USA?,Not yet.\nhow do I reset my password,"+answer+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err = run(t, cli, "faq", "import", "--data-dir", a.cfg.DataDir, csvFile); err != nil ||
		out != csvFile+": 1 added, 1 updated, 0 unchanged\n" {
		t.Fatalf("faq import: %q, %v", out, err)
	}
	if out, _, err = run(t, cli, "faq", "test", "--data-dir", a.cfg.DataDir, "do you ship to the usa"); err != nil ||
		out != "curated answer 2 (score 1.00): Do you ship to the USA?\n\nNot yet.\n" {
		t.Fatalf("faq test: %q, %v", out, err)
	}
	if r := ask("Do you ship to the USA?"); r.Response.ResponseType != "curated" || r.Response.Answer != "Not yet." {
		t.Fatalf("imported pair: %+v", r)
	}
	e.next()
	// chatbot ask, through the server, answers with it as well.
	if out, _, err = run(t, cli, "ask", "--data-dir", a.cfg.DataDir, "do you ship to the usa?"); err != nil ||
		!strings.HasPrefix(out, "Not yet.\n\nSources:\n  1. faq:2 (score 1.00)\n\n(curated; ") {
		t.Fatalf("ask through the server: %q, %v", out, err)
	}
	if out, _, err = run(t, cli, "faq", "list", "--data-dir", a.cfg.DataDir); err != nil ||
		out != "ID  QUESTION                    ALTERNATIVES  ANSWER\n"+
			"1   how do I reset my password  1             Use the **Forgot password** link on the sign-in page; the e…\n"+
			"2   Do you ship to the USA?     0             Not yet.\n" {
		t.Fatalf("faq list: %q, %v", out, err)
	}
	if out, _, err = run(t, cli, "faq", "remove", "--data-dir", a.cfg.DataDir, "1"); err != nil || out != "curated answer 1 removed\n" {
		t.Fatalf("faq remove: %q, %v", out, err)
	}
	if r := ask("How do I reset my password?"); r.Response.ResponseType != "extractive" {
		t.Fatalf("after remove: %+v", r)
	}
	e.next()
	if _, _, err = run(t, cli, "faq", "remove", "--data-dir", a.cfg.DataDir, "1"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("remove again: %v", err)
	}
}

// TestFAQCommandsOnTheDataDirectory: with no server, the commands work on
// the store, and a local ask answers with the curated pair.
func TestFAQCommandsOnTheDataDirectory(t *testing.T) {
	dir := t.TempDir()
	env := mapEnv(nil)
	md := filepath.Join(t.TempDir(), "answers.md")
	if err := os.WriteFile(md, []byte("# Support\n\n## Can I pay with PayPal?\n\nYes, and with all major cards.\n\n## What are your opening hours?\n\n9 to 5, Monday to Friday.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, env, "faq", "import", "--data-dir", dir, md)
	if err != nil || out != md+": 2 added, 0 updated, 0 unchanged\n" {
		t.Fatalf("import: %q, %v", out, err)
	}
	if out, _, err = run(t, env, "faq", "import", "--data-dir", dir, md); err != nil || out != md+": 0 added, 0 updated, 2 unchanged\n" {
		t.Fatalf("import again: %q, %v", out, err)
	}
	if out, _, err = run(t, env, "faq", "add", "--data-dir", dir, "--question", "can i pay with paypal", "--answer", "x"); err == nil ||
		!strings.Contains(err.Error(), "curated answer 1 already has this question") {
		t.Fatalf("duplicate add: %q, %v", out, err)
	}
	if out, _, err = run(t, env, "ask", "--data-dir", dir, "--embedder", "builtin", "--llm", "none", "--json", "is it possible to pay with paypal?"); err != nil {
		t.Fatalf("ask: %v", err)
	}
	var reply struct {
		Answer       string `json:"answer"`
		ResponseType string `json:"response_type"`
		Sources      []struct {
			Source string `json:"source"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(out), &reply); err != nil || reply.ResponseType != "curated" ||
		reply.Answer != "Yes, and with all major cards." || len(reply.Sources) != 1 || reply.Sources[0].Source != "faq:1" {
		t.Fatalf("ask = %q (%v)", out, err)
	}
	if out, _, err = run(t, env, "faq", "test", "--data-dir", dir, "when do you close?"); err != nil ||
		out != "no curated answer matches; the knowledge base would answer\n" {
		t.Fatalf("test: %q, %v", out, err)
	}
	if _, _, err = run(t, env, "faq", "remove", "--data-dir", dir, "2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err = run(t, env, "faq", "import", "--data-dir", dir, filepath.Join(dir, "missing.csv")); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Fatalf("missing file: %v", err)
	}
	if out, _, err = run(t, env, "faq", "list", "--data-dir", dir); err != nil || out != "ID  QUESTION                ALTERNATIVES  ANSWER\n1   Can I pay with PayPal?  0             Yes, and with all major cards.\n" {
		t.Fatalf("list: %q, %v", out, err)
	}
}
