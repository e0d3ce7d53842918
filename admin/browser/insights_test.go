package browser

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A visitor rates an answer with the widget's thumbs; the Insights section
// of the panel then shows the rating, the unanswered question as a gap and
// the answer among the worst rated.
func TestWidgetFeedbackShowsInInsights(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		skipOrFail(t, "no Chromium found (install it with .ci/chromium.sh or apt-get install chromium, or set CHATBOT_CHROMIUM)")
	}
	srv := startServer(t, buildBinary(t))
	shots := newShots(t)
	ctx := newBrowser(t, chromium)

	siteURL := shopWithWidget(t, srv)

	const shadow = `document.querySelector('[data-chatbot-widget]').shadowRoot`
	question := "Can I pay with PayPal? " + xss
	err := chromedp.Do(ctx, chromedp.Navigate(siteURL+"/"), chromedp.WaitReady(chromedp.CSS(`[data-chatbot-widget]`)))
	if err != nil {
		t.Fatal(err)
	}
	if err := runJS(ctx, shadow+`.querySelector('.b').click(); `+shadow+`.querySelector('textarea').value = `+jsString(question)+`; `+
		shadow+`.querySelector('form').requestSubmit(); true`); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, shadow+`.querySelectorAll('.m.a .f button').length === 2 || `+shadow+`.querySelector('.e').textContent !== ''`); err != nil {
		t.Fatalf("no thumbs under the answer: %v", err)
	}
	if e := evalString(t, ctx, shadow+`.querySelector('.e').textContent`); e != "" {
		t.Fatalf("widget error: %q", e)
	}
	if err := runJS(ctx, shadow+`.querySelector('.m.a .f button[aria-label="Not helpful"]').click(); true`); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, shadow+`.querySelector('.m.a .f button[aria-label="Not helpful"]').getAttribute('aria-pressed') === 'true' || `+
		shadow+`.querySelector('.e').textContent !== ''`); err != nil {
		t.Fatalf("the rating was not taken: %v", err)
	}
	if e := evalString(t, ctx, shadow+`.querySelector('.e').textContent`); e != "" {
		t.Fatalf("widget error after rating: %q", e)
	}
	shots.take(t, ctx, "widget-rated-not-helpful")

	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.base+"/admin/#insights"),
		chromedp.WaitVisible(chromedp.CSS(`#login-token`)),
		chromedp.SetValue(chromedp.CSS(`#login-token`), adminToken),
		press(`#login-form button`),
		chromedp.WaitVisible(chromedp.CSS(`#ins-stats .stat`)),
		chromedp.WaitVisible(chromedp.CSS(`#gaps-table`)),
		chromedp.WaitVisible(chromedp.CSS(`#worst-table`)),
	)
	if err != nil {
		t.Fatalf("the Insights section did not show its numbers, gaps and worst answers: %v", err)
	}
	stats := evalString(t, ctx, `document.getElementById('ins-stats').textContent`)
	for _, want := range []string{"Feedback score", "0 helpful, 1 not helpful", "Unanswered rate", "100%", "1 ended without an answer"} {
		if !strings.Contains(stats, want) {
			t.Errorf("the numbers %q lack %q", stats, want)
		}
	}
	if got := evalString(t, ctx, `document.querySelector('#gaps-table tbody td.text').textContent`); got != question {
		t.Errorf("gap question shown as %q, want %q", got, question)
	}
	if got := evalString(t, ctx, `document.querySelectorAll('#gaps-table tbody td')[3].textContent`); got != "no answer 1" {
		t.Errorf("gap reasons shown as %q, want the first reason kept: no answer 1", got)
	}
	if got := evalString(t, ctx, `document.querySelector('#worst-table tbody td.text').textContent`); got != question {
		t.Errorf("worst-rated answer's question shown as %q", got)
	}
	if n := evalString(t, ctx, `String(document.querySelectorAll('#ins-chart svg.chart rect').length)`); n != "1" {
		t.Errorf("the chart has %s bars, want 1 (today's unanswered conversation)", n)
	}
	noScriptRan(t, ctx, "insights")
	shots.take(t, ctx, "insights")
}
