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
		t.Skipf("no go command to build the server: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "chatbot")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/chatbot/chatbot")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build chatbot: %v\n%s", err, out)
	}
	return bin
}

// startServer runs `chatbot serve` on a free loopback port until cleanup.
func startServer(t *testing.T, bin string) *server {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--allow-outgoing", "127.0.0.0/8")
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
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("server did not stop within 10s of SIGTERM")
		}
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("server log:\n%s", b)
		}
	})
	// The server records its address in the data directory once it serves.
	deadline := time.Now().Add(15 * time.Second)
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

// shots saves screenshots under $CHATBOT_SCREENSHOTS or a temp directory.
type shots struct {
	dir   string
	mu    sync.Mutex
	saved []string
}

func newShots(t *testing.T) *shots {
	dir := os.Getenv("CHATBOT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &shots{dir: dir}
}

func (s *shots) take(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(s.dir, name+".png")
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
	ctx, cancelTimeout := context.WithTimeout(ctx, 100*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(ctx context.Context, expr string) error {
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second)))
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
	if got := evalString(t, ctx, `String(window.__xss)`); got != "undefined" {
		t.Errorf("%s: injected markup ran (window.__xss = %q)", where, got)
	}
}

func TestAdminPanelAndWidget(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		t.Skip("no Chromium found (install it with .ci/chromium.sh or apt-get install chromium, or set CHATBOT_CHROMIUM)")
	}
	start := time.Now()
	srv := startServer(t, buildBinary(t))
	shots := newShots(t)
	ctx := newBrowser(t, chromium)
	t.Logf("server %s and browser ready after %s", srv.base, time.Since(start).Round(time.Millisecond))

	// Receiver of outgoing deliveries and test deliveries.
	var recvMu sync.Mutex
	var received []map[string]any
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		recvMu.Lock()
		received = append(received, m)
		recvMu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer receiver.Close()

	t.Run("wrong token", func(t *testing.T) {
		err := chromedp.Do(ctx,
			chromedp.Navigate(srv.base+"/admin/"),
			chromedp.WaitVisible(chromedp.CSS(`#login-token`)),
			chromedp.SendKeys(chromedp.CSS(`#login-token`), "not-the-token"),
			chromedp.Click(chromedp.CSS(`#login-form button`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		if err := waitJS(ctx, `document.getElementById('login-error').textContent.indexOf('login failed: that is not the admin token') === 0`); err != nil {
			t.Fatalf("no login error shown: %v (%q)", err, evalString(t, ctx, `document.getElementById('login-error').textContent`))
		}
		shots.take(t, ctx, "01-login-wrong-token")
	})

	t.Run("log in", func(t *testing.T) {
		err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS(`#login-token`), adminToken),
			chromedp.Click(chromedp.CSS(`#login-form button`)),
			chromedp.WaitVisible(chromedp.CSS(`#nav`)),
			chromedp.WaitVisible(chromedp.CSS(`#stat-incoming`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		shots.take(t, ctx, "02-overview")
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
			chromedp.Click(chromedp.CSS(`#integration-form button[type=submit]`)),
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
		if n := evalString(t, ctx, `String(document.querySelectorAll('#view img[src="x"], #view b').length)`); n != "0" {
			t.Errorf("markup from the integration name became %s elements", n)
		}
		shots.take(t, ctx, "03-integrations")
	})

	t.Run("messages from the webhook", func(t *testing.T) {
		body := map[string]any{"user_id": "u1", "username": "Ann", "conversation_id": "conv-browser-1", "message": "Hello " + xss}
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", srv.base+"/api/webhook/incoming", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+incomingToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/admin/#messages"), chromedp.WaitVisible(chromedp.CSS(`#m-platform`))); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == http.StatusNotFound {
			if err := waitJS(ctx, `!!document.querySelector('#view .na')`); err != nil {
				t.Fatalf("Messages does not say the history is unavailable: %v", err)
			}
			shots.take(t, ctx, "04-messages")
			t.Skip("POST /api/webhook/incoming is not on this branch yet; the section degrades as it should")
		}
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusAccepted {
			t.Fatalf("incoming webhook: %d", res.StatusCode)
		}
		if err := waitJS(ctx, `Array.from(document.querySelectorAll('.message-text')).some(function (n) { return n.textContent === `+jsString("Hello "+xss)+` })`); err != nil {
			t.Fatalf("the message is not in Messages as text: %v", err)
		}
		noScriptRan(t, ctx, "message text")
		shots.take(t, ctx, "04-messages")
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/admin/#conversation/conv-browser-1"), chromedp.WaitVisible(chromedp.CSS(`#conversation .bubble`))); err != nil {
			t.Fatal(err)
		}
		noScriptRan(t, ctx, "conversation view")
		shots.take(t, ctx, "05-conversation")
	})

	t.Run("live chat", func(t *testing.T) {
		if code := srv.api(t, "GET", "/api/livechat/sessions", nil, nil); code == http.StatusNotFound {
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/admin/#livechat"), chromedp.WaitVisible(chromedp.CSS(`#session-list .na`))); err != nil {
				t.Fatalf("Live chat does not say it is unavailable: %v", err)
			}
			shots.take(t, ctx, "06-livechat")
			t.Skip("the live chat API is not on this branch yet; the section degrades as it should")
		}
		liveChat(t, ctx, srv, shots)
	})

	t.Run("other sections", func(t *testing.T) {
		for i, s := range []struct{ hash, ready string }{
			{"deliveries", `#d-h`}, {"knowledge", `#kb-file`}, {"logs", `#log-level`},
		} {
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/admin/#"+s.hash), chromedp.WaitVisible(chromedp.CSS(s.ready))); err != nil {
				t.Fatalf("%s: %v", s.hash, err)
			}
			// Let the section's API calls settle before the picture.
			if err := waitJS(ctx, `!document.querySelector('#view') || document.querySelector('#view').textContent.indexOf('…') < 0`); err != nil {
				t.Logf("%s still loading: %v", s.hash, err)
			}
			shots.take(t, ctx, fmt.Sprintf("%02d-%s", 7+i, s.hash))
		}
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
			chromedp.SetUploadFiles(chromedp.CSS(`#kb-file`), []string{exe}),
			chromedp.Click(chromedp.CSS(`#upload-form button[type=submit]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		if err := waitJS(ctx, `Array.from(document.querySelectorAll('#view p.error')).some(function (p) { return p.textContent.indexOf('setup.exe: files of type ".exe" cannot be indexed') === 0 })`); err != nil {
			t.Fatalf("no refusal shown: %v", err)
		}
		shots.take(t, ctx, "08-knowledge-upload-refused")
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
			shots.take(t, ctx, "12-phone-"+hash)
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
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`nav a[data-section=logs]`)), chromedp.WaitVisible(chromedp.CSS(`#login-token`))); err != nil {
			t.Fatal(err)
		}
		if got := evalString(t, ctx, `document.getElementById('login-error').textContent`); got != "Your session has ended; log in again." {
			t.Errorf("login notice %q", got)
		}
		shots.take(t, ctx, "13-session-ended")
		err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS(`#login-token`), adminToken),
			chromedp.Click(chromedp.CSS(`#login-form button`)),
			chromedp.WaitVisible(chromedp.CSS(`#log-level`)),
		)
		if err != nil {
			t.Fatalf("log in again: %v", err)
		}
	})

	t.Run("log out", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/admin/#overview"), chromedp.WaitVisible(chromedp.CSS(`#logout`)), chromedp.Click(chromedp.CSS(`#logout`)), chromedp.WaitVisible(chromedp.CSS(`#login-token`))); err != nil {
			t.Fatal(err)
		}
		// Reloading stays logged out: the cookie is gone.
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#login-token`))); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("browser suite took %s; screenshots in %s", time.Since(start).Round(time.Millisecond), shots.dir)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// liveChat opens a session the way a website visitor does (the widget's
// "Talk to a human"), then accepts it and replies from the console.
func liveChat(t *testing.T, ctx context.Context, srv *server, shots *shots) {
	const origin = "http://visitor.test"
	var created struct {
		Widget struct {
			Key string `json:"key"`
		} `json:"widget"`
	}
	if code := srv.api(t, "POST", "/admin/api/widgets", map[string]any{"name": "Help", "allowed_origins": []string{origin}}, &created); code != http.StatusCreated {
		t.Fatalf("create widget: %d", code)
	}
	body, _ := json.Marshal(map[string]any{"message": "I want to talk to a human " + xss, "handoff": true, "conversation_id": "conv-live-0001"})
	req, _ := http.NewRequest("POST", srv.base+"/api/chat?key="+created.Widget.Key, bytes.NewReader(body))
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		ResponseType string `json:"response_type"`
		Error        string `json:"error"`
	}
	_ = json.NewDecoder(res.Body).Decode(&reply)
	res.Body.Close()
	if res.StatusCode == http.StatusServiceUnavailable {
		t.Skipf("no answer engine on this branch yet, so no way to open a session: %s", reply.Error)
	}
	if res.StatusCode != http.StatusOK || reply.ResponseType != "live_chat_transfer" {
		t.Fatalf("handoff: %d %+v", res.StatusCode, reply)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.base+"/admin/#livechat"),
		chromedp.WaitVisible(chromedp.CSS(`#agent-name`)),
		chromedp.SetValue(chromedp.CSS(`#agent-name`), "Sarah"),
		chromedp.WaitVisible(chromedp.CSS(`#session-list .session-item`)),
		chromedp.Click(chromedp.CSS(`#session-list .session-item`)),
		chromedp.WaitVisible(chromedp.CSS(`#accept`)),
	)
	if err != nil {
		t.Fatalf("no waiting session in the console: %v", err)
	}
	if err := waitJS(ctx, `Array.from(document.querySelectorAll('#transcript .bubble .body')).some(function (n) { return n.textContent === `+jsString("I want to talk to a human "+xss)+` })`); err != nil {
		t.Errorf("the visitor's message is not in the transcript as text: %v", err)
	}
	noScriptRan(t, ctx, "live chat transcript")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#accept`)),
		chromedp.WaitVisible(chromedp.CSS(`#reply-text`)),
		chromedp.SetValue(chromedp.CSS(`#reply-text`), "Hi, Sarah here. How can I help?"),
		chromedp.Click(chromedp.CSS(`#reply-form button[type=submit]`)),
	)
	if err != nil {
		t.Fatalf("accept and reply: %v", err)
	}
	if err := waitJS(ctx, `Array.from(document.querySelectorAll('#transcript .bubble')).some(function (n) { return n.textContent.indexOf('Sarah here') >= 0 })`); err != nil {
		t.Fatalf("the reply is not in the transcript: %v", err)
	}
	shots.take(t, ctx, "06-livechat")
}

// widgetOnAnotherOrigin loads the widget on a test page served by another
// origin, asks a question, and checks that a page on an origin not in the
// widget's list gets nothing.
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
	// Every widget's snippet, this one's among them (the live-chat step made another).
	if got := evalString(t, ctx, `Array.from(document.querySelectorAll('.widget-item pre.snippet')).map(function (n) { return n.textContent }).join('\n')`); !strings.Contains(got, `data-key="`+key+`"`) {
		t.Errorf("snippets %q lack the key", got)
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
	ask("How do I reset my password? " + xss)
	// Either an answer (an engine is wired) or the widget's own error line.
	if err := waitJS(ctx, shadow+`.querySelectorAll('.m.a').length > 0 || `+shadow+`.querySelector('.e').textContent !== ''`); err != nil {
		t.Fatalf("the widget showed neither an answer nor an error: %v", err)
	}
	userText := evalString(t, ctx, shadow+`.querySelector('.m.u').textContent`)
	if userText != "How do I reset my password? "+xss {
		t.Errorf("the visitor's message is not shown as text: %q", userText)
	}
	noScriptRan(t, ctx, "widget message")
	shots.take(t, ctx, "10-widget")
	errText := evalString(t, ctx, shadow+`.querySelector('.e').textContent`)
	if errText != "" {
		if !strings.Contains(errText, "not available") {
			t.Fatalf("widget error: %q", errText)
		}
		t.Logf("no answer engine on this branch yet: the widget says %q", errText)
	} else {
		answer := evalString(t, ctx, shadow+`.querySelector('.m.a').textContent`)
		if answer == "" {
			t.Fatal("empty answer")
		}
		// The conversation survives a page load.
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitReady(chromedp.CSS(`[data-chatbot-widget]`))); err != nil {
			t.Fatal(err)
		}
		if err := waitJS(ctx, shadow+`.querySelectorAll('.m').length >= 2`); err != nil {
			t.Errorf("conversation lost on reload: %v", err)
		}
	}

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
	shots.take(t, ctx, "11-widget-foreign-origin")
}

// runJS runs JavaScript for its effect; the expression ends in true.
func runJS(ctx context.Context, js string) error {
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	return err
}
