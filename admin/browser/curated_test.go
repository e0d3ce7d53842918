package browser

import (
	"context"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// curatedAnswers adds a curated answer in the "Curated answers" section
// (its answer carrying markup, which must stay text), tries a paraphrase
// there, checks that the webhook answers it with the pair, and deletes it.
func curatedAnswers(t *testing.T, ctx context.Context, srv *server, incomingToken string, shots *shots) {
	answer := "Yes, and with cards. " + xss
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.base+"/admin/#curated"),
		chromedp.WaitReady(chromedp.CSS(`#faq-question`)),
		chromedp.SetValue(chromedp.CSS(`#faq-question`), "Can I pay with PayPal?"),
		chromedp.SetValue(chromedp.CSS(`#faq-alternatives`), "is paypal accepted\n\n"),
		chromedp.SetValue(chromedp.CSS(`#faq-answer`), answer),
		press(`#faq-form button[type=submit]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `Array.from(document.querySelectorAll('#faq-table tbody tr')).some(function (tr) {
		return tr.children[0].textContent === 'Can I pay with PayPal?' && tr.children[1].textContent === 'is paypal accepted' && tr.children[2].textContent === `+jsString(answer)+` })`); err != nil {
		t.Fatalf("the curated answer is not listed as text: %v (%q)", err, evalString(t, ctx, `document.getElementById('view').textContent`))
	}
	noScriptRan(t, ctx, "curated answer")
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#faq-probe`), "Is PayPal accepted?"),
		press(`#faq-probe-form button[type=submit]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.getElementById('faq-tried').textContent.indexOf('Answered by curated answer ') === 0`); err != nil {
		t.Fatalf("trying a paraphrase shows no match: %v (%q)", err, evalString(t, ctx, `document.getElementById('faq-tried').textContent`))
	}
	shots.take(t, ctx, "curated-answers")

	var res incomingReply
	if code := srv.incoming(t, incomingToken, map[string]any{"user_id": "u9", "conversation_id": "conv-curated", "message": "can I pay with paypal"}, &res); code != http.StatusOK ||
		res.Response.ResponseType != "curated" || res.Response.Answer != answer {
		t.Fatalf("incoming webhook: %d %+v", code, res)
	}

	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.confirm = function () { return true }; true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, press(`#faq-table button.danger`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.getElementById('view').textContent.indexOf('No curated answers yet.') >= 0`); err != nil {
		t.Fatalf("the deleted curated answer is still listed: %v", err)
	}
}
