package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const adminToken = "browser-test-admin-token-0123456789"

// xss is put wherever a user or operator controls text. Rendered as HTML it
// would set window.__xss; rendered as text it shows literally.
const xss = `<img src=x onerror="window.__xss='img'"><script>window.__xss='script'</script><b>bold</b>`

// titleXSS is the heading of an uploaded Markdown document. It has no
// underscore or asterisk, which Markdown would strip as emphasis.
const titleXSS = `Refunds <img src=x onerror="window.xssTitle='img'"><script>window.xssTitle='script'</script><b>bold</b>`

// neutral words: they ask for nobody, so only the handoff flag opens a session.
const neutral = "My parcel 4411 has not arrived yet"

// requireBrowser makes a missing Chromium (or go command) a failure, for CI.
func requireBrowser() bool { return os.Getenv("CHATBOT_REQUIRE_BROWSER") == "1" }

// skipOrFail skips, or fails when CHATBOT_REQUIRE_BROWSER=1.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if requireBrowser() {
		t.Fatalf("CHATBOT_REQUIRE_BROWSER=1: "+format, args...)
	}
	t.Skipf(format, args...)
}

// server is a running `chatbot serve`.
type server struct {
	base string
	cmd  *exec.Cmd
	logs string
}

func chromiumPath() string {
	if p := os.Getenv("CHATBOT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// buildBinary builds the chatbot binary once for the whole test.
func buildBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		if goBin, err = exec.LookPath(filepath.Join(runtime.GOROOT(), "bin", "go")); err != nil {
			skipOrFail(t, "no go command to build the server: %v", err)
		}
	}
	bin := filepath.Join(t.TempDir(), "chatbot")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/chatbot/chatbot")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build chatbot: %v\n%s", err, out)
	}
	return bin
}

// startServer runs `chatbot serve` on a free loopback port until cleanup,
// with the built-in answerer.
func startServer(t *testing.T, bin string) *server {
	t.Helper()
	return startServerWith(t, bin, "--llm", "none")
}

// startServerWith is startServer with llmArgs choosing the answerer.
func startServerWith(t *testing.T, bin string, llmArgs ...string) *server {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// The built-in embedder and answerer: the same answers whether or not an
	// Ollama runs on this machine.
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--allow-outgoing", "127.0.0.0/8",
		"--embedder", "builtin"}, llmArgs...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "CHATBOT_ADMIN_TOKEN="+adminToken)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: logPath}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	exited := false
	t.Cleanup(func() {
		if exited {
			return
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server exit: %v", err)
			}
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			t.Errorf("server did not stop within a minute of SIGTERM")
		}
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("server log:\n%s", b)
		}
	})
	// The server records its address in the data directory once it serves.
	deadline := time.Now().Add(time.Minute) // a hang, not a slow machine
	for time.Now().Before(deadline) {
		var rec struct{ Addr string }
		if b, err := os.ReadFile(filepath.Join(data, "server.json")); err == nil && json.Unmarshal(b, &rec) == nil && rec.Addr != "" {
			s.base = "http://" + rec.Addr
			if res, err := http.Get(s.base + "/healthz"); err == nil {
				res.Body.Close()
				return s
			}
		}
		select {
		case <-done:
			exited = true
		case <-time.After(20 * time.Millisecond): // polling a process that is starting up
		}
		if exited {
			break
		}
	}
	b, _ := os.ReadFile(logPath)
	t.Fatalf("server did not start:\n%s", b)
	return nil
}

// api calls the server with the admin token and decodes the JSON answer.
func (s *server) api(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// shots saves screenshots under $CHATBOT_SCREENSHOTS (kept) or a temporary
// directory, numbered in the order taken: 01-login-wrong-token.png, ...
type shots struct {
	dir   string
	mu    sync.Mutex
	saved []string
	names map[string]bool
}

func newShots(t *testing.T) *shots {
	dir := os.Getenv("CHATBOT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &shots{dir: dir, names: map[string]bool{}}
}

// take saves the page as NN-name.png; name says what the picture shows.
func (s *shots) take(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	s.mu.Lock()
	dup := s.names[name]
	s.names[name] = true
	n := len(s.names)
	s.mu.Unlock()
	if dup {
		t.Errorf("screenshot name %q used twice", name)
		return
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", n, name))
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Errorf("save screenshot: %v", err)
		return
	}
	s.mu.Lock()
	s.saved = append(s.saved, p)
	s.mu.Unlock()
	t.Logf("screenshot %s", p)
}

// newBrowser starts headless Chromium with a fresh profile.
func newBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// No deadline on the whole browser session: one for all steps made the
	// step that happened to be running when it ran out fail ("create
	// integration: context deadline exceeded" after 95 s on a loaded
	// machine, where building, starting Chromium and logging in had used
	// most of it). Each wait below has its own bound, there to catch a
	// hang, and go test's -timeout bounds the whole.
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(ctx context.Context, expr string) error {
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(time.Minute)))
	return err
}

func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

func noScriptRan(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	if got := evalString(t, ctx, `String(window.__xss) + ' ' + String(window.xssTitle)`); got != "undefined undefined" {
		t.Errorf("%s: injected markup ran (window.__xss window.xssTitle = %q)", where, got)
	}
}

func TestAdminPanelAndWidget(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		skipOrFail(t, "no Chromium found (install it with .ci/chromium.sh or apt-get install chromium, or set CHATBOT_CHROMIUM)")
	}
	start := time.Now()
	srv := startServer(t, buildBinary(t))
	shots := newShots(t)
	ctx := newBrowser(t, chromium)
	t.Logf("server %s and browser ready after %s", srv.base, time.Since(start).Round(time.Millisecond))

	// Receiver of outgoing deliveries. It refuses agents' messages, so
	// that they wait in Deliveries (pending, then failed).
	var recvMu sync.Mutex
	var received []map[string]any
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		recvMu.Lock()
		received = append(received, m)
		recvMu.Unlock()
		if m["sender_type"] == "agent" {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer receiver.Close()

	t.Run("wrong token", func(t *testing.T) {
		err := chromedp.Do(ctx,
			chromedp.Navigate(srv.base+"/admin/"),
			chromedp.WaitVisible(chromedp.CSS(`#login-token`)),
			chromedp.SendKeys(chromedp.CSS(`#login-token`), "not-the-token"),
			press(`#login-form button`),
		)
		if err != nil {
			t.Fatal(err)
		}
		if err := waitJS(ctx, `document.getElementById('login-error').textContent.indexOf('login failed: that is not the admin token') === 0`); err != nil {
			t.Fatalf("no login error shown: %v (%q)", err, evalString(t, ctx, `document.getElementById('login-error').textContent`))
		}
		shots.take(t, ctx, "login-wrong-token")
	})

	t.Run("log in", func(t *testing.T) {
		err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS(`#login-token`), adminToken),
			press(`#login-form button`),
			chromedp.WaitVisible(chromedp.CSS(`#nav`)),
			chromedp.WaitVisible(chromedp.CSS(`#stat-incoming`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		shots.take(t, ctx, "overview")
	})

	var incomingToken string
	t.Run("create integration", func(t *testing.T) {
		name := "Support " + xss
		err := chromedp.Do(ctx,
			chromedp.Navigate(srv.base+"/admin/#integrations"),
			chromedp.WaitVisible(chromedp.CSS(`#int-name`)),
			chromedp.SetValue(chromedp.CSS(`#int-name`), name),
			chromedp.SetValue(chromedp.CSS(`#int-provider`), "custom"),
			chromedp.SetValue(chromedp.CSS(`#int-url`), receiver.URL+"/hook"),
			press(`#integration-form button[type=submit]`),
			chromedp.WaitVisible(chromedp.CSS(`#incoming-token`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		incomingToken = evalString(t, ctx, `document.getElementById('incoming-token').textContent`)
		if len(incomingToken) < 20 {
			t.Fatalf("incoming token not shown: %q", incomingToken)
		}
		if err := waitJS(ctx, `!!document.querySelector('#integrations-table td') && document.querySelector('#integrations-table td').textContent === `+jsString(name)); err != nil {
			t.Fatalf("integration name not shown as text: %v", err)
		}
		noScriptRan(t, ctx, "integration name")
		// The delivery circuit breaker beside it (GET /api/webhook/breakers).
		if err := waitJS(ctx, `!!document.querySelector('#integrations-table td.breaker .pill.closed') && document.querySelector('#integrations-table td.breaker').textContent === 'closed'`); err != nil {
			t.Errorf("integration's delivery breaker not shown as closed: %v", err)
		}
		if n := evalString(t, ctx, `String(document.querySelectorAll('#view img[src="x"], #view b').length)`); n != "0" {
			t.Errorf("markup from the integration name became %s elements", n)
		}
		shots.take(t, ctx, "integrations-name-with-markup")
	})
	if incomingToken == "" {
		t.Fatal("no integration: the steps after this one need its incoming token")
	}

	t.Run("messages from the webhook", func(t *testing.T) {
		var res incomingReply
		if code := srv.incoming(t, incomingToken, map[string]any{"user_id": "u1", "username": "Ann", "conversation_id": "conv-browser-1", "message": "Hello " + xss}, &res); code != http.StatusOK {
			t.Fatalf("incoming webhook: %d %+v", code, res)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/admin/#messages"), chromedp.WaitVisible(chromedp.CSS(`#m-platform`))); err != nil {
			t.Fatal(err)
		}
		if err := waitJS(ctx, `Array.from(document.querySelectorAll('.message-text')).some(function (n) { return n.textContent === `+jsString("Hello "+xss)+` })`); err != nil {
			t.Fatalf("the message is not in Messages as text: %v", err)
		}
		noScriptRan(t, ctx, "message text")
		shots.take(t, ctx, "messages")
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/admin/#conversation/conv-browser-1"), chromedp.WaitVisible(chromedp.CSS(`#conversation .bubble`))); err != nil {
			t.Fatal(err)
		}
		noScriptRan(t, ctx, "conversation view")
		shots.take(t, ctx, "conversation")
	})

	t.Run("knowledge base", func(t *testing.T) {
		knowledgeBase(t, ctx, srv, shots)
	})

	t.Run("website sources", func(t *testing.T) {
		websiteSources(t, ctx, srv, shots)
	})

	t.Run("curated answers", func(t *testing.T) {
		curatedAnswers(t, ctx, srv, incomingToken, shots)
	})

	t.Run("live chat", func(t *testing.T) {
		liveChat(t, ctx, srv, incomingToken, shots)
	})

	t.Run("deliveries", func(t *testing.T) {
		// The agent's messages of the live chat are refused by the
		// receiver: Deliveries lists them (agent_outgoing) as pending or failed.
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/admin/#deliveries"), chromedp.WaitVisible(chromedp.CSS(`#d-h`))); err != nil {
			t.Fatal(err)
		}
		if err := waitJS(ctx, `Array.from(document.querySelectorAll('#view .messages-table tr')).some(function (tr) {
			return tr.children[1] && tr.children[1].textContent === 'agent_outgoing' && tr.textContent.indexOf('Sarah here') >= 0 })`); err != nil {
			t.Fatalf("the agent's undelivered reply is not in Deliveries: %v (%q)", err, evalString(t, ctx, `document.getElementById('view').textContent`))
		}
		shots.take(t, ctx, "deliveries-agent-reply-undelivered")
	})

	t.Run("logs", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/admin/#logs"), chromedp.WaitVisible(chromedp.CSS(`#log-level`))); err != nil {
			t.Fatal(err)
		}
		if err := waitJS(ctx, `!!document.querySelector('#logs-table tbody tr') || document.getElementById('view').textContent.indexOf('No warnings or errors since the server started.') >= 0`); err != nil {
			t.Fatalf("the log list did not load: %v", err)
		}
		shots.take(t, ctx, "logs")
	})

	t.Run("widget on another origin", func(t *testing.T) {
		widgetOnAnotherOrigin(t, ctx, srv, shots)
	})

	t.Run("upload of an unsupported type", func(t *testing.T) {
		exe := filepath.Join(t.TempDir(), "setup.exe")
		if err := os.WriteFile(exe, []byte("MZ\x90\x00"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := chromedp.Do(ctx,
			chromedp.Navigate(srv.base+"/admin/#knowledge"),
			chromedp.WaitReady(chromedp.CSS(`#kb-file`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		if err := waitJS(ctx, documentsListed); err != nil {
			t.Fatalf("the document list did not load: %v", err)
		}
		err = chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.CSS(`#kb-file`), []string{exe}),
			press(`#upload-form button[type=submit]`),
		)
		if err != nil {
			t.Fatal(err)
		}
		if err := waitJS(ctx, `Array.from(document.querySelectorAll('#view p.error')).some(function (p) { return p.textContent.indexOf('setup.exe: files of type ".exe" cannot be indexed') === 0 })`); err != nil {
			t.Fatalf("no refusal shown: %v", err)
		}
		shots.take(t, ctx, "knowledge-upload-refused")
	})

	t.Run("phone width", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := chromedp.Do(ctx, chromedp.EmulateReset()); err != nil {
				t.Error(err)
			}
		}()
		for _, hash := range []string{"integrations", "livechat"} {
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/admin/#"+hash), chromedp.WaitVisible(chromedp.CSS(`#view h2`))); err != nil {
				t.Fatal(err)
			}
			if w := evalString(t, ctx, `String(document.documentElement.scrollWidth)`); w != "390" {
				t.Errorf("%s is %s px wide on a 390 px screen", hash, w)
			}
			shots.take(t, ctx, "phone-"+hash)
		}
	})

	t.Run("session ends", func(t *testing.T) {
		// The cookie disappears (as when the session expires): the next
		// call gets 401 and the panel asks to log in again.
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/admin/#overview"), chromedp.WaitVisible(chromedp.CSS(`#stat-incoming`))); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, press(`nav a[data-section=logs]`), chromedp.WaitVisible(chromedp.CSS(`#login-token`))); err != nil {
			t.Fatal(err)
		}
		if got := evalString(t, ctx, `document.getElementById('login-error').textContent`); got != "Your session has ended; log in again." {
			t.Errorf("login notice %q", got)
		}
		shots.take(t, ctx, "session-ended")
		err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS(`#login-token`), adminToken),
			press(`#login-form button`),
			chromedp.WaitVisible(chromedp.CSS(`#log-level`)),
		)
		if err != nil {
			t.Fatalf("log in again: %v", err)
		}
	})

	t.Run("log out", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/admin/#overview"), chromedp.WaitVisible(chromedp.CSS(`#logout`)), press(`#logout`), chromedp.WaitVisible(chromedp.CSS(`#login-token`))); err != nil {
			t.Fatal(err)
		}
		// Reloading stays logged out: the cookie is gone.
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#login-token`))); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("browser suite took %s; %d screenshots in %s", time.Since(start).Round(time.Millisecond), len(shots.saved), shots.dir)
}

// documentsListed holds once the knowledge view's document list has
// loaded, so nothing moves above the upload form any more.
const documentsListed = `!!document.querySelector('#documents-table') || document.getElementById('view').textContent.indexOf('No documents indexed yet.') >= 0`

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// incomingReply is the answer of POST /api/webhook/incoming.
type incomingReply struct {
	Success  bool   `json:"success"`
	Error    string `json:"error"`
	Response struct {
		Answer       string `json:"answer"`
		ResponseType string `json:"response_type"`
	} `json:"response"`
}

// incoming sends a platform's message with the integration's token.
func (s *server) incoming(t *testing.T, token string, body map[string]any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.base+"/api/webhook/incoming", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_ = json.NewDecoder(res.Body).Decode(out)
	return res.StatusCode
}

// knowledgeBase uploads a Markdown document whose heading (its title) is
// markup and checks it is listed as text, then runs "Try retrieval", with
// the server's answer and with one that has the vector and keyword scores.
func knowledgeBase(t *testing.T, ctx context.Context, srv *server, shots *shots) {
	doc := filepath.Join(t.TempDir(), "refunds.md")
	body := "# " + titleXSS + "\n\n## Refund window\n\nRefunds are accepted within 30 days of purchase with the original receipt.\n"
	if err := os.WriteFile(doc, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.base+"/admin/#knowledge"),
		chromedp.WaitReady(chromedp.CSS(`#kb-file`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, documentsListed); err != nil {
		t.Fatalf("the document list did not load: %v", err)
	}
	err = chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.CSS(`#kb-file`), []string{doc}),
		press(`#upload-form button[type=submit]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `Array.from(document.querySelectorAll('#documents-table td.doc-title')).some(function (td) { return td.textContent === `+jsString(titleXSS)+` })`); err != nil {
		t.Fatalf("the document title is not listed as text: %v (%q)", err, evalString(t, ctx, `document.getElementById('view').textContent`))
	}
	noScriptRan(t, ctx, "document title")
	if n := evalString(t, ctx, `String(document.querySelectorAll('#view img, #view script, #view b').length)`); n != "0" {
		t.Errorf("markup from the document title became %s elements", n)
	}
	shots.take(t, ctx, "knowledge-title-with-markup")

	// Try retrieval with the server's own answer: the fused score, and the
	// vector and keyword scores exactly when the API sends them.
	const question = "How many days do I have to get a refund?"
	var api struct {
		Passages []map[string]any `json:"passages"`
	}
	if code := srv.api(t, "POST", "/api/knowledge/search", map[string]any{"query": question, "k": 5}, &api); code != http.StatusOK || len(api.Passages) == 0 {
		t.Fatalf("search API: %d, %d passages", code, len(api.Passages))
	}
	search := func() {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS(`#kb-query`), question),
			press(`#search-form button[type=submit]`),
			chromedp.WaitVisible(chromedp.CSS(`#search-results .search-hit`)),
		)
		if err != nil {
			t.Fatal(err)
		}
	}
	search()
	hits := evalString(t, ctx, `String(document.querySelectorAll('#search-results .search-hit').length)`)
	if hits != fmt.Sprint(len(api.Passages)) {
		t.Errorf("%s hits shown, the API found %d", hits, len(api.Passages))
	}
	why := evalString(t, ctx, `document.querySelector('#search-results .search-hit .why').textContent`)
	if !strings.Contains(why, "fused keyword and meaning score ") || strings.Contains(why, "undefined") || strings.Contains(why, "NaN") {
		t.Errorf("why: %q", why)
	}
	for field, class := range map[string]string{"vector_score": "score-vector", "lexical_score": "score-lexical"} {
		_, sent := api.Passages[0][field]
		shown := evalString(t, ctx, `String(!!document.querySelector('#search-results .search-hit .`+class+`'))`) == "true"
		if sent != shown {
			t.Errorf("%s: sent by the API %v, shown %v", field, sent, shown)
		}
	}

	// A server that sends the scores for the first passage only.
	patch := `(function () {
		var real = window.fetch;
		window.fetch = function (url, opts) {
			if (String(url).indexOf('/api/knowledge/search') !== 0) return real.apply(this, arguments);
			return Promise.resolve(new Response(JSON.stringify({ success: true, passages: [
				{ title: 'Refunds', heading: 'Refunds > Refund window', source: 'refunds.md#refund-window', text: 'Refunds are accepted within 30 days.', score: 0.7071, vector_score: 0.8123, lexical_score: 0.43 },
				{ title: 'Shipping', source: 'shipping.md', text: 'Parcels take three days.', score: 0.2 }
			] }), { status: 200, headers: { 'Content-Type': 'application/json' } }));
		};
		return true;
	})()`
	if err := runJS(ctx, patch); err != nil {
		t.Fatal(err)
	}
	search()
	if err := waitJS(ctx, `document.querySelectorAll('#search-results .search-hit').length === 2`); err != nil {
		t.Fatal(err)
	}
	got := evalString(t, ctx, `Array.from(document.querySelectorAll('#search-results .search-hit .why')).map(function (n) { return n.textContent }).join('\n')`)
	want := `Why: section "Refunds > Refund window" · fused keyword and meaning score 0.707 (0 to 1) · meaning 0.812 · keywords 0.430` + "\n" +
		`Why: fused keyword and meaning score 0.200 (0 to 1)`
	if got != want {
		t.Errorf("retrieval explanation:\n%s\nwant:\n%s", got, want)
	}
	shots.take(t, ctx, "knowledge-try-retrieval-scores")
}

// liveChat opens a session through the webhook while the agent console is
// open: it appears through the event stream with the visible cue. The
// agent accepts, replies and closes it from the console.
func liveChat(t *testing.T, ctx context.Context, srv *server, token string, shots *shots) {
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.base+"/admin/#livechat"),
		chromedp.WaitVisible(chromedp.CSS(`#agent-name`)),
		chromedp.SetValue(chromedp.CSS(`#agent-name`), "Sarah"),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The console follows the event stream and has seen that nobody waits.
	if err := waitJS(ctx, `document.body.getAttribute('data-live') === 'events' && document.body.getAttribute('data-waiting') === '0' &&
		document.getElementById('session-list').textContent === 'No waiting or active sessions.'`); err != nil {
		t.Fatalf("the console is not following the event stream: %v (data-live %q)", err, evalString(t, ctx, `String(document.body.getAttribute('data-live'))`))
	}

	text := "I want to talk to a human " + xss
	var res incomingReply
	if code := srv.incoming(t, token, map[string]any{"user_id": "u-lee", "username": "Lee", "conversation_id": "conv-live-0001", "message": text}, &res); code != http.StatusOK || res.Response.ResponseType != "live_chat_transfer" {
		t.Fatalf("handoff: %d %+v", code, res)
	}
	// No reload and no polling: the session_opened event brings it in, with
	// the banner, the count in the menu and in the title.
	if err := waitJS(ctx, `document.body.getAttribute('data-live-event') === 'session_opened' &&
		!!document.querySelector('#session-list .session-item') &&
		!document.getElementById('cue').hidden && document.getElementById('cue').textContent === 'A visitor is waiting for an agent in Live chat.' &&
		document.getElementById('waiting-badge').textContent === '1' && document.title === '(1) chatbot admin'`); err != nil {
		t.Fatalf("the new session did not appear live with the cue: %v (event %q, cue hidden %s, list %q)", err,
			evalString(t, ctx, `String(document.body.getAttribute('data-live-event'))`), evalString(t, ctx, `String(document.getElementById('cue').hidden)`),
			evalString(t, ctx, `document.getElementById('session-list').textContent`))
	}
	if got := evalString(t, ctx, `document.body.getAttribute('data-live')`); got != "events" {
		t.Errorf("the console fell back to %q", got)
	}
	if got := evalString(t, ctx, `document.querySelector('#session-list .session-item strong').textContent`); got != "Lee" {
		t.Errorf("session listed as %q", got)
	}
	shots.take(t, ctx, "livechat-new-session-cue")

	var list struct {
		Sessions []struct {
			ID string `json:"id"`
		} `json:"sessions"`
	}
	if code := srv.api(t, "GET", "/api/livechat/sessions?state=waiting", nil, &list); code != http.StatusOK || len(list.Sessions) != 1 {
		t.Fatalf("waiting sessions: %d %+v", code, list)
	}
	id := list.Sessions[0].ID

	err = chromedp.Do(ctx,
		press(`#session-list .session-item`),
		chromedp.WaitVisible(chromedp.CSS(`#accept`)),
	)
	if err != nil {
		t.Fatalf("open the session: %v", err)
	}
	if err := waitJS(ctx, `Array.from(document.querySelectorAll('#transcript .bubble .body')).some(function (n) { return n.textContent === `+jsString(text)+` })`); err != nil {
		t.Errorf("the visitor's message is not in the transcript as text: %v", err)
	}
	noScriptRan(t, ctx, "live chat transcript")
	const draft = "Hi, Sarah here. How can I help?"
	err = chromedp.Do(ctx,
		press(`#accept`),
		chromedp.WaitVisible(chromedp.CSS(`#reply-text`)),
		chromedp.SetValue(chromedp.CSS(`#reply-text`), draft),
	)
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	// Live-chat events keep coming while the agent types (here the
	// visitor writes again): the transcript shows the new message, and the
	// reply form is the same element with the draft in it. The console
	// used to rebuild the whole pane on every event, which lost the draft
	// and detached the elements the test had found.
	if code := srv.incoming(t, token, map[string]any{"user_id": "u-lee", "username": "Lee", "conversation_id": "conv-live-0001", "message": "Are you still there?"}, &res); code != http.StatusOK {
		t.Fatalf("visitor's second message: %d %+v", code, res)
	}
	if err := waitJS(ctx, `Array.from(document.querySelectorAll('#transcript .bubble .body')).some(function (n) { return n.textContent === 'Are you still there?' })`); err != nil {
		t.Fatalf("the visitor's second message is not in the transcript: %v", err)
	}
	if got := evalString(t, ctx, `document.getElementById('reply-text').value`); got != draft {
		t.Fatalf("the agent's draft after a live-chat event: %q, want %q", got, draft)
	}
	if err := chromedp.Do(ctx, press(`#reply-form button[type=submit]`)); err != nil {
		t.Fatalf("reply: %v", err)
	}
	if err := waitJS(ctx, `Array.from(document.querySelectorAll('#transcript .bubble')).some(function (n) { return n.textContent.indexOf('Sarah here') >= 0 })`); err != nil {
		t.Fatalf("the reply is not in the transcript: %v", err)
	}
	shots.take(t, ctx, "livechat-accepted-and-replied")

	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#close-session`)), press(`#close-session`)); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := waitJS(ctx, `!!document.querySelector('#session-pane h3 .pill.closed') && !document.querySelector('#session-list .session-item') &&
		!document.getElementById('reply-form')`); err != nil {
		t.Fatalf("the console does not show the session closed: %v (%q)", err, evalString(t, ctx, `document.getElementById('view').textContent`))
	}
	var one struct {
		Session struct {
			State    string `json:"state"`
			Agent    string `json:"agent"`
			ClosedBy string `json:"closed_by"`
		} `json:"session"`
	}
	if code := srv.api(t, "GET", "/api/livechat/sessions/"+id, nil, &one); code != http.StatusOK || one.Session.State != "closed" || one.Session.ClosedBy != "agent" || one.Session.Agent != "Sarah" {
		t.Fatalf("after Close: %d %+v", code, one.Session)
	}
	shots.take(t, ctx, "livechat-closed")
}

// widgetOnAnotherOrigin loads the widget on a test page served by another
// origin, asks a question the knowledge base answers (with sources), asks
// for a human with the button, and checks that a page on an origin not in
// the widget's list gets nothing.
func widgetOnAnotherOrigin(t *testing.T, ctx context.Context, srv *server, shots *shots) {
	page := func(key string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><html><head><title>Shop</title></head><body><h1>Example shop</h1><p>Product page.</p>
<script src="%s/widget.js" data-key="%s" data-title="Ask the shop"></script></body></html>`, srv.base, key)
		})
	}
	var keyMu sync.Mutex
	key := ""
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keyMu.Lock()
		k := key
		keyMu.Unlock()
		page(k).ServeHTTP(w, r)
	}))
	defer site.Close()
	var created struct {
		Widget struct {
			Key string `json:"key"`
		} `json:"widget"`
	}
	if code := srv.api(t, "POST", "/admin/api/widgets", map[string]any{"name": "Shop " + xss, "allowed_origins": []string{site.URL}}, &created); code != http.StatusCreated {
		t.Fatalf("create widget: %d", code)
	}
	keyMu.Lock()
	key = created.Widget.Key
	keyMu.Unlock()

	// The panel lists the widget with its snippet, the name as text.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/admin/#integrations"), chromedp.WaitVisible(chromedp.CSS(`.widget-item pre.snippet`))); err != nil {
		t.Fatal(err)
	}
	if got := evalString(t, ctx, `document.querySelector('.widget-item pre.snippet').textContent`); !strings.Contains(got, `data-key="`+key+`"`) {
		t.Errorf("snippet %q lacks the key", got)
	}
	if got := evalString(t, ctx, `document.querySelector('.widget-item h3').firstChild.textContent`); got != "Shop "+xss+" " {
		t.Errorf("widget name shown as %q", got)
	}
	noScriptRan(t, ctx, "widget name")

	const shadow = `document.querySelector('[data-chatbot-widget]').shadowRoot`
	ask := func(text string) {
		t.Helper()
		js := shadow + `.querySelector('textarea').value = ` + jsString(text) + `; ` + shadow + `.querySelector('form').requestSubmit(); true`
		if err := runJS(ctx, js); err != nil {
			t.Fatal(err)
		}
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(site.URL+"/"),
		chromedp.WaitReady(chromedp.CSS(`[data-chatbot-widget]`)),
	)
	if err != nil {
		t.Fatalf("widget did not load on the test page: %v", err)
	}
	if err := runJS(ctx, shadow+`.querySelector('.b').click(); true`); err != nil {
		t.Fatal(err)
	}
	question := "How many days do I have to get a refund? " + xss
	ask(question)
	if err := waitJS(ctx, shadow+`.querySelectorAll('.m.a').length === 1 || `+shadow+`.querySelector('.e').textContent !== ''`); err != nil {
		t.Fatalf("the widget showed neither an answer nor an error: %v", err)
	}
	if e := evalString(t, ctx, shadow+`.querySelector('.e').textContent`); e != "" {
		t.Fatalf("widget error: %q", e)
	}
	if got := evalString(t, ctx, shadow+`.querySelector('.m.u').textContent`); got != question {
		t.Errorf("the visitor's message is not shown as text: %q", got)
	}
	answer := evalString(t, ctx, shadow+`.querySelector('.m.a').firstChild.textContent`)
	if !strings.Contains(answer, "30 days") {
		t.Errorf("answer %q is not from the knowledge base", answer)
	}
	// The answer's Markdown is rendered: the quote is a quote, not "> ".
	if got := evalString(t, ctx, `(function () { var a = `+shadow+`.querySelector('.m.a');
		return a.firstChild.nodeName + ' ' + String(a.textContent.indexOf('> ') === 0); })()`); got != "BLOCKQUOTE false" {
		t.Errorf("the answer is not rendered from its Markdown: first node and raw quote marker %q", got)
	}
	// The answer names its source, the document's title (markup) as text,
	// once: the widget adds no sources line of its own.
	shownAnswer := evalString(t, ctx, shadow+`.querySelector('.m.a').textContent`)
	if strings.Count(shownAnswer, titleXSS) != 1 || evalString(t, ctx, `String(!!`+shadow+`.querySelector('.m.a .s'))`) != "false" {
		t.Errorf("answer shown: %q, want the title %q once and no sources line", shownAnswer, titleXSS)
	}
	if n := evalString(t, ctx, `String(`+shadow+`.querySelectorAll('img, script, b').length)`); n != "0" {
		t.Errorf("markup in the widget became %s elements", n)
	}
	noScriptRan(t, ctx, "widget message and sources")
	shots.take(t, ctx, "widget-answer-with-sources")

	// The conversation survives a page load.
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitReady(chromedp.CSS(`[data-chatbot-widget]`))); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, shadow+`.querySelectorAll('.m').length === 2`); err != nil {
		t.Errorf("conversation lost on reload: %v", err)
	}

	// "Talk to a human" with the visitor's own, neutral words: the button's
	// handoff flag opens the session.
	if err := runJS(ctx, shadow+`.querySelector('.b').click(); `+shadow+`.querySelector('textarea').value = `+jsString(neutral)+`; `+shadow+`.querySelector('.human').click(); true`); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, shadow+`.querySelectorAll('.m.a').length === 2 || `+shadow+`.querySelector('.e').textContent !== ''`); err != nil {
		t.Fatalf("no reply to Talk to a human: %v", err)
	}
	if e := evalString(t, ctx, shadow+`.querySelector('.e').textContent`); e != "" {
		t.Fatalf("widget error: %q", e)
	}
	if got := evalString(t, ctx, shadow+`.querySelectorAll('.m.u')[1].textContent`); got != neutral {
		t.Errorf("the visitor's words are shown as %q", got)
	}
	if got := evalString(t, ctx, shadow+`.querySelectorAll('.m.a')[1].textContent`); !strings.HasPrefix(got, "Connecting you with a human agent") {
		t.Errorf("transfer answer %q", got)
	}
	conv := evalString(t, ctx, `JSON.parse(localStorage.getItem('chatbot-widget:' + `+jsString(key)+`)).id`)
	var list struct {
		Sessions []struct {
			ID             string `json:"id"`
			Platform       string `json:"platform"`
			ConversationID string `json:"conversation_id"`
		} `json:"sessions"`
	}
	if code := srv.api(t, "GET", "/api/livechat/sessions?state=waiting", nil, &list); code != http.StatusOK || len(list.Sessions) != 1 ||
		list.Sessions[0].Platform != "widget" || list.Sessions[0].ConversationID != conv {
		t.Fatalf("waiting sessions after Talk to a human: %d %+v, want the widget's conversation %q", code, list, conv)
	}
	var one struct {
		Transcript []struct {
			SenderType string `json:"sender_type"`
			Message    string `json:"message"`
		} `json:"transcript"`
	}
	srv.api(t, "GET", "/api/livechat/sessions/"+list.Sessions[0].ID, nil, &one)
	if n := len(one.Transcript); n < 3 || one.Transcript[n-2].SenderType != "user" || one.Transcript[n-2].Message != neutral {
		t.Errorf("the agent's transcript: %+v", one.Transcript)
	}
	shots.take(t, ctx, "widget-talk-to-a-human")

	// A site that is not on the list: the browser gets no CORS grant.
	other := httptest.NewServer(page(key))
	defer other.Close()
	if err := chromedp.Do(ctx, chromedp.Navigate(other.URL+"/"), chromedp.WaitReady(chromedp.CSS(`[data-chatbot-widget]`))); err != nil {
		t.Fatal(err)
	}
	if err := runJS(ctx, shadow+`.querySelector('.b').click(); true`); err != nil {
		t.Fatal(err)
	}
	ask("hello from a site not on the list")
	if err := waitJS(ctx, shadow+`.querySelector('.e').textContent.indexOf('Sorry') === 0`); err != nil {
		t.Fatalf("the widget on a foreign origin did not fail: %v", err)
	}
	if n := evalString(t, ctx, `String(`+shadow+`.querySelectorAll('.m.a').length)`); n != "0" {
		t.Errorf("a foreign origin got %s answers", n)
	}
	shots.take(t, ctx, "widget-foreign-origin-refused")
}

// runJS runs JavaScript for its effect; the expression ends in true.
func runJS(ctx context.Context, js string) error {
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	return err
}

// press clicks the first visible element matching sel by dispatching the
// click to that element, not to the point on the screen where it was: a
// mouse click at coordinates races lists that load above a form (the
// document list above the upload form), and on a busy machine it landed on
// a row's Remove button, whose confirm dialog then blocked the page.
func press(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			found, err := chromedp.Evaluate[bool](`(function () { var el = document.querySelector(`+jsString(sel)+`);
				if (!el) return false; el.click(); return true; })()`)(ctx, t)
			if err == nil && !found {
				err = fmt.Errorf("press %s: the element is gone", sel)
			}
			return err
		}),
	)
}
