package browser

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAdminPanelNativeIntegration creates a native Chatwoot integration
// through the panel's form, reads the events URL it shows, pauses a
// conversation with a signed agent-reply event, sees it listed as paused
// with its cause, and gives it back to the bot from the panel.
func TestAdminPanelNativeIntegration(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		skipOrFail(t, "no Chromium found (install it with .ci/chromium.sh or apt-get install chromium, or set CHATBOT_CHROMIUM)")
	}
	// The fake Chatwoot API: it records what the bot calls and answers 200.
	var mu sync.Mutex
	var calls []string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id": 1}`))
	}))
	defer fake.Close()
	srv := startServer(t, buildBinary(t)) // --allow-outgoing 127.0.0.0/8: the fake API is reachable
	shots := newShots(t)
	ctx := newBrowser(t, chromium)

	const (
		name      = `Chatwoot <b>desk</b><img src=x onerror="window.__xss='name'">`
		apiToken  = "cw_api_token_5f2d9a7c41"
		webSecret = "cw-webhook-secret-0123456789"
	)
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.base+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS(`#login-token`)),
		chromedp.SetValue(chromedp.CSS(`#login-token`), adminToken),
		press(`#login-form button`),
		chromedp.WaitVisible(chromedp.CSS(`#nav`)),
		press(`nav a[data-section=integrations]`),
		chromedp.WaitVisible(chromedp.CSS(`#int-name`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := evalString(t, ctx, `String(document.getElementById('int-native').hidden) + ' ' + String(document.getElementById('int-generic').hidden)`); got != "true false" {
		t.Fatalf("generic adapter: native fields hidden, generic shown = %q, want \"true false\"", got)
	}
	// Choosing "native" shows its fields; accepting unsigned events shows
	// the warning, and turning it off hides it again.
	if err := runJS(ctx, `(function () { var a = document.getElementById('int-adapter'); a.value = 'native'; a.dispatchEvent(new Event('change'));
var u = document.getElementById('int-accept-unsigned'); u.click(); return true; })()`); err != nil {
		t.Fatal(err)
	}
	if got := evalString(t, ctx, `String(document.getElementById('int-native').hidden) + ' ' + String(document.getElementById('int-generic').hidden) + ' ' + String(document.getElementById('int-unsigned-warning').hidden)`); got != "false true false" {
		t.Fatalf("native adapter with unsigned events: native hidden, generic hidden, warning hidden = %q, want \"false true false\"", got)
	}
	shots.take(t, ctx, "native-integration-form-unsigned-warning")
	if err := runJS(ctx, `(function () { document.getElementById('int-accept-unsigned').click(); return document.getElementById('int-unsigned-warning').hidden; })()`); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#int-name`), name),
		chromedp.SetValue(chromedp.CSS(`#int-provider`), "chatwoot"),
		chromedp.SetValue(chromedp.CSS(`#int-api-url`), fake.URL),
		chromedp.SetValue(chromedp.CSS(`#int-api-token`), apiToken),
		chromedp.SetValue(chromedp.CSS(`#int-platform-secret`), webSecret),
		chromedp.SetValue(chromedp.CSS(`#int-account`), "7"),
		chromedp.SetValue(chromedp.CSS(`#int-bot-id`), "5"),
		press(`#integration-form button[type=submit]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!document.getElementById('events-url') && document.getElementById('events-url').textContent !== ''`); err != nil {
		t.Fatalf("no events URL after saving: %v (%q)", err, evalString(t, ctx, `document.getElementById('view').textContent`))
	}
	eventsURL := evalString(t, ctx, `document.getElementById('events-url').textContent`)
	m := regexp.MustCompile(`^` + regexp.QuoteMeta(srv.base) + `/api/platforms/([0-9]+)/events$`).FindStringSubmatch(eventsURL)
	if m == nil {
		t.Fatalf("events URL %q, want %s/api/platforms/{id}/events", eventsURL, srv.base)
	}
	id := m[1]
	row := `document.querySelector('#integrations-table tr[data-config="` + id + `"]')`
	if err := waitJS(ctx, `!!`+row); err != nil {
		t.Fatalf("the integration is not listed: %v", err)
	}
	if got := evalString(t, ctx, `Array.from(`+row+`.children).slice(0, 5).map(function (td) { return td.textContent }).join('|')`); got != name+"|chatwoot|native|"+fake.URL+"|"+eventsURL {
		t.Fatalf("row = %q, want name|chatwoot|native|api url|events URL", got)
	}
	if page := evalString(t, ctx, `document.body.textContent`); strings.Contains(page, apiToken) || strings.Contains(page, webSecret) {
		t.Fatalf("the page shows a credential in clear: %q", page)
	}
	noScriptRan(t, ctx, "native integration name")
	shots.take(t, ctx, "native-integration-events-url")

	// Editing shows the stored settings, the credentials only masked in
	// the placeholders; saving with them blank keeps them (the signed
	// event below still verifies).
	if err := runJS(ctx, row+`.querySelector('button[aria-label^="Edit "]').click(); true`); err != nil {
		t.Fatal(err)
	}
	form := `['int-adapter', 'int-api-url', 'int-api-token', 'int-platform-secret', 'int-account', 'int-bot-id', 'int-handoff'].map(function (id) { return document.getElementById(id).value }).join('|')`
	if got := evalString(t, ctx, form); got != "native|"+fake.URL+"|||7|5|native" {
		t.Fatalf("edit form = %q, want native|api url|||7|5|native", got)
	}
	if got := evalString(t, ctx, `document.getElementById('int-api-token').placeholder`); strings.Contains(got, apiToken) || !strings.Contains(got, "stored: ") {
		t.Fatalf("API token placeholder %q: want the stored token masked", got)
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#int-handoff-target`), "12"),
		press(`#integration-form button[type=submit]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!document.getElementById('events-url') && document.getElementById('events-url-card').textContent.indexOf('Saved "') >= 0 && document.getElementById('events-url').textContent === `+jsString(eventsURL)); err != nil {
		t.Fatalf("saving the edit: %v (%q)", err, evalString(t, ctx, `document.getElementById('view').textContent`))
	}
	var cfg struct {
		Config struct {
			HandoffTarget string `json:"handoff_target"`
			APIToken      string `json:"api_token"`
		} `json:"config"`
	}
	if code := srv.api(t, "GET", "/api/webhook/config/"+id, nil, &cfg); code != http.StatusOK || cfg.Config.HandoffTarget != "12" || cfg.Config.APIToken == "" || cfg.Config.APIToken == apiToken {
		t.Fatalf("after the edit: %d %+v, want hand-off target 12 and the token kept (masked)", code, cfg.Config)
	}

	// A signed agent reply pauses conversation 58.
	body, err := os.ReadFile("../../platform/testdata/chatwoot/message_created_outgoing_agent.json")
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(webSecret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, eventsURL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Chatwoot-Timestamp", ts)
	req.Header.Set("X-Chatwoot-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("signed agent reply: status %d, want 200", res.StatusCode)
	}

	if err := runJS(ctx, row+`.querySelector('button[aria-label^="Conversations of"]').click(); true`); err != nil {
		t.Fatal(err)
	}
	conv := `document.querySelector('#conv-states-table tr[data-conv="58"]')`
	cells := `Array.from(` + conv + `.children).slice(0, 3).map(function (td) { return td.textContent }).join('|')`
	if err := waitJS(ctx, `!!`+conv+` && `+cells+` === '58|paused|agent_reply (an agent replied in the platform)' && !!`+conv+`.querySelector('button.resume')`); err != nil {
		t.Fatalf("conversation 58 is not listed as paused by an agent's reply: %v (%q)", err, evalString(t, ctx, `document.getElementById('conv-states').textContent`))
	}
	if got := evalString(t, ctx, `document.querySelector('#conv-states h3').textContent`); got != "Conversations of "+name {
		t.Fatalf("heading %q", got)
	}
	noScriptRan(t, ctx, "conversations of a native integration")
	shots.take(t, ctx, "native-conversation-paused")

	if err := runJS(ctx, conv+`.querySelector('button.resume').click(); true`); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!`+conv+` && `+cells+` === '58|active|operator (given back from this panel)' && !`+conv+`.querySelector('button.resume')`); err != nil {
		t.Fatalf("conversation 58 is not active after giving it back: %v (%q)", err, evalString(t, ctx, `document.getElementById('conv-states').textContent`))
	}
	var state struct {
		Conversation struct {
			Paused bool   `json:"paused"`
			Cause  string `json:"cause"`
		} `json:"conversation"`
	}
	if code := srv.api(t, "GET", "/api/platforms/"+id+"/conversations/58", nil, &state); code != http.StatusOK || state.Conversation.Paused || state.Conversation.Cause != "operator" {
		t.Fatalf("API after giving back: %d %+v, want active, cause operator", code, state.Conversation)
	}
	shots.take(t, ctx, "native-conversation-given-back")
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 0 {
		t.Errorf("the fake Chatwoot API got %v; an agent's reply and a resume call nothing", calls)
	}
}
