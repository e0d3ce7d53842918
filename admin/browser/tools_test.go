package browser

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAdminPanelTools: an operator pastes a tool's declaration into the
// API tools section, tests it against the shop's API (whose answer
// carries markup: shown as text, never run) and sees the call recorded.
func TestAdminPanelTools(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		skipOrFail(t, "no Chromium found (install it with .ci/chromium.sh or apt-get install chromium, or set CHATBOT_CHROMIUM)")
	}
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"shipped <img src=x onerror=\"window.__xss=1\">","eta":"Friday"}`)
	}))
	defer shop.Close()
	srv := startServer(t, buildBinary(t))
	shots := newShots(t)
	ctx := newBrowser(t, chromium)
	decl := `{"name": "order_status", "url": "` + shop.URL + `/orders/{order_id}", "auth": {"kind": "bearer", "secret": "shop_tok_1234567890"},
 "params": [{"name": "order_id", "required": true, "pattern": "[0-9]{5,10}"}], "triggers": ["(?i)where is my order"],
 "answer": "Order {order_id} is {status}; expected {eta}.", "fields": ["status", "eta"], "enabled_for": ["*"]}`

	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.base+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS(`#login-token`)),
		chromedp.SetValue(chromedp.CSS(`#login-token`), adminToken),
		press(`#login-form button`),
		chromedp.WaitVisible(chromedp.CSS(`#nav`)),
		press(`nav a[data-section=tools]`),
		chromedp.WaitVisible(chromedp.CSS(`#tool-json`)),
		chromedp.SetValue(chromedp.CSS(`#tool-json`), decl),
		press(`#tool-form button[type=submit]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.getElementById('tool-out').textContent === 'Saved order_status.' && !!document.querySelector('#tools-table tr[data-tool=order_status]')`); err != nil {
		t.Fatalf("tool not saved: %v (%q)", err, evalString(t, ctx, `document.getElementById('tool-out').textContent`))
	}
	row := `document.querySelector('#tools-table tr[data-tool=order_status]')`
	if got := evalString(t, ctx, row+`.textContent`); !strings.Contains(got, "bearer ****7890") || strings.Contains(got, "shop_tok") {
		t.Fatalf("row %q: the secret must show masked", got)
	}
	if err := runJS(ctx, `(function () { var r = `+row+`; var ins = r.querySelectorAll('input'); ins[0].value = 'order_id=12345'; ins[1].value = 'cust-7';
r.querySelector('button.secondary').click(); return true; })()`); err != nil {
		t.Fatal(err)
	}
	want := `The user sees: Order 12345 is shipped <img src=x onerror="window.__xss=1">; expected Friday. (ok, status 200, `
	if err := waitJS(ctx, row+`.querySelector('[role=status]').textContent.indexOf(`+jsString(want)+`) === 0`); err != nil {
		t.Fatalf("test result: %v (%q)", err, evalString(t, ctx, row+`.querySelector('[role=status]').textContent`))
	}
	if err := waitJS(ctx, `!!document.querySelector('#tool-calls-table tbody tr') && document.querySelector('#tool-calls-table tbody tr').textContent.indexOf('order_statusorder_id=12345cust-7ok200') >= 0`); err != nil {
		t.Fatalf("call not listed: %v (%q)", err, evalString(t, ctx, `String((document.querySelector('#tool-calls-table tbody tr') || {}).textContent)`))
	}
	noScriptRan(t, ctx, "tools section")
	shots.take(t, ctx, "api-tools")
}
