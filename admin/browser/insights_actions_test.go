package browser

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// An agent rates the bot's answer from the live-chat console and sees the
// rating in Insights; the operator then adds a curated answer in one click
// from the knowledge-gap cluster, and the next such question is answered
// with it.
func TestInsightsAgentRatingAndCuratedAnswerFromGap(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		skipOrFail(t, "no Chromium found (install it with .ci/chromium.sh or apt-get install chromium, or set CHATBOT_CHROMIUM)")
	}
	srv := startServer(t, buildBinary(t))
	shots := newShots(t)
	ctx := newBrowser(t, chromium)

	var created struct {
		Config struct {
			IncomingToken string `json:"incoming_token"`
		} `json:"config"`
	}
	if code := srv.api(t, "POST", "/api/webhook/config", map[string]any{"name": "Support", "provider": "custom"}, &created); code != http.StatusCreated || created.Config.IncomingToken == "" {
		t.Fatalf("create integration: %d %+v", code, created)
	}
	token := created.Config.IncomingToken

	// Two gaps (the knowledge base is empty): one asked twice in other
	// words, and one in a conversation that then asks for a human. (The
	// other Insights test has markup in a gap question; here it is in the
	// answer typed into the form.)
	const gap = "Can I pay with PayPal?"
	var res incomingReply
	for _, m := range []map[string]any{
		{"user_id": "u1", "conversation_id": "conv-gap-1", "message": gap},
		{"user_id": "u2", "conversation_id": "conv-gap-2", "message": "Do you accept PayPal payments?"},
		{"user_id": "u3", "username": "Lee", "conversation_id": "conv-rated", "message": "Where is my parcel?"},
	} {
		if code := srv.incoming(t, token, m, &res); code != http.StatusOK || res.Response.ResponseType != "no_answer" {
			t.Fatalf("incoming %v: %d %+v, want no_answer with an empty knowledge base", m["message"], code, res)
		}
	}
	if code := srv.incoming(t, token, map[string]any{"user_id": "u3", "username": "Lee", "conversation_id": "conv-rated", "message": "I want to talk to a human"}, &res); code != http.StatusOK || res.Response.ResponseType != "live_chat_transfer" {
		t.Fatalf("handoff: %d %+v", code, res)
	}

	// The agent rates the bot's answer in the console's transcript.
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.base+"/admin/#livechat"),
		chromedp.WaitVisible(chromedp.CSS(`#login-token`)),
		chromedp.SetValue(chromedp.CSS(`#login-token`), adminToken),
		press(`#login-form button`),
		chromedp.WaitVisible(chromedp.CSS(`#agent-name`)),
		chromedp.SetValue(chromedp.CSS(`#agent-name`), "Sarah"),
		chromedp.WaitVisible(chromedp.CSS(`#session-list .session-item`)),
		press(`#session-list .session-item`),
		chromedp.WaitVisible(chromedp.CSS(`#transcript .bubble.bot .rating`)),
	)
	if err != nil {
		t.Fatalf("no rating buttons under the bot's answer in the console: %v", err)
	}
	// Only the answer is rated, not the hand-off notice nor the visitor's messages.
	if n := evalString(t, ctx, `String(document.querySelectorAll('#transcript .bubble .rating').length)`); n != "1" {
		t.Errorf("%s bubbles have rating buttons, want 1 (the bot's answer)", n)
	}
	if err := runJS(ctx, `document.querySelector('#transcript .rating button[data-rating="not_helpful"]').click(); true`); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.querySelector('#transcript .rating button[data-rating="not_helpful"]').getAttribute('aria-pressed') === 'true' ||
		document.querySelector('#transcript .rating .error') !== null`); err != nil {
		t.Fatalf("the agent's rating was not taken: %v", err)
	}
	if got := evalString(t, ctx, `document.querySelector('#transcript .rating [role=status]').textContent`); got != "Rated not helpful." {
		t.Fatalf("after rating the console says %q", got)
	}
	shots.take(t, ctx, "livechat-agent-rated")

	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.base+"/admin/#insights"),
		chromedp.WaitVisible(chromedp.CSS(`#ins-stats .stat`)),
		chromedp.WaitVisible(chromedp.CSS(`#worst-table`)),
		chromedp.WaitVisible(chromedp.CSS(`#gaps-table .add-curated`)),
	)
	if err != nil {
		t.Fatalf("the Insights section did not show the rating and the gaps: %v", err)
	}
	if stats := evalString(t, ctx, `document.getElementById('ins-stats').textContent`); !strings.Contains(stats, "0 helpful, 1 not helpful") {
		t.Errorf("the numbers %q lack the agent's rating: 0 helpful, 1 not helpful", stats)
	}
	if got := evalString(t, ctx, `document.querySelector('#worst-table tbody td.text').textContent`); got != "Where is my parcel?" {
		t.Errorf("worst-rated answer's question shown as %q, want the one the agent rated", got)
	}

	// One click on the PayPal cluster opens the form with its questions.
	const row = `Array.from(document.querySelectorAll('#gaps-table tbody tr')).filter(function (tr) { return tr.children[1] && tr.children[1].textContent.indexOf('PayPal') >= 0 })[0]`
	if got := evalString(t, ctx, row+`.children[0].textContent`); got != "2" {
		t.Fatalf("the PayPal cluster counts %s questions, want 2 (%q)", got, evalString(t, ctx, `document.getElementById('gaps-table').textContent`))
	}
	if err := runJS(ctx, row+`.querySelector('.add-curated').click(); true`); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!document.querySelector('#gaps-table .gap-form')`); err != nil {
		t.Fatalf("no form after Add a curated answer: %v", err)
	}
	question := evalString(t, ctx, `document.querySelector('#gaps-table .gap-question').value`)
	alts := evalString(t, ctx, `document.querySelector('#gaps-table .gap-alternatives').value`)
	if rep := evalString(t, ctx, row+`.children[1].textContent`); question != rep {
		t.Errorf("the form's question is %q, want the cluster's representative %q", question, rep)
	}
	if got := question + "\n" + alts; !strings.Contains(got, gap) || !strings.Contains(got, "Do you accept PayPal payments?") {
		t.Errorf("the form holds %q and %q, want both of the cluster's questions", question, alts)
	}
	answer := "Yes, PayPal and cards. " + xss
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#gaps-table .gap-answer`), answer),
		press(`#gaps-table .gap-form button[type=submit]`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, row+`.querySelector('.gap-action').textContent.indexOf('answered by a curated answer') === 0 || !!document.querySelector('#gaps-table .gap-form .error:not(:empty)')`); err != nil {
		t.Fatalf("the cluster does not show its curated answer: %v", err)
	}
	if e := evalString(t, ctx, `String(document.querySelector('#gaps-table .gap-form') && document.querySelector('#gaps-table .gap-form .error').textContent)`); e != "null" {
		t.Fatalf("saving the curated answer failed: %q", e)
	}
	noScriptRan(t, ctx, "curated answer from a gap")
	shots.take(t, ctx, "insights-gap-curated")

	var faqs struct {
		FAQs []struct {
			Question     string   `json:"question"`
			Alternatives []string `json:"alternatives"`
			Answer       string   `json:"answer"`
		} `json:"faqs"`
	}
	if code := srv.api(t, "GET", "/api/faq", nil, &faqs); code != http.StatusOK || len(faqs.FAQs) != 1 || faqs.FAQs[0].Question != question || faqs.FAQs[0].Answer != answer {
		t.Fatalf("curated answers: %d %+v, want one for %q", code, faqs, question)
	}
	if code := srv.incoming(t, token, map[string]any{"user_id": "u4", "conversation_id": "conv-after", "message": "can I pay with paypal"}, &res); code != http.StatusOK ||
		res.Response.ResponseType != "curated" || res.Response.Answer != answer {
		t.Fatalf("the next PayPal question: %d %+v, want the curated answer", code, res)
	}

	// A fresh look at Insights still shows the cluster as answered.
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#gaps-table`))); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, row+`.querySelector('.gap-action').textContent === 'answered by a curated answer'`); err != nil {
		t.Errorf("after a reload the cluster is not marked answered: %v (%q)", err, evalString(t, ctx, row+`.querySelector('.gap-action').textContent`))
	}
}
