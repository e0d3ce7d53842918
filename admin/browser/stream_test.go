package browser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// gatedModel is a fake Ollama whose answer to the widget's question comes
// in pieces: the first at once, the rest only when the test closes rest.
// Other chat requests get "ok" at once.
type gatedModel struct {
	srv  *httptest.Server
	rest chan struct{}
	once sync.Once
}

func newGatedModel(t *testing.T, marker string, pieces ...string) *gatedModel {
	t.Helper()
	m := &gatedModel{rest: make(chan struct{})}
	stop := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"version":"0.6.5"}`)
	})
	mux.HandleFunc("GET /api/tags", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest"}]}`)
	})
	mux.HandleFunc("POST /api/show", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"modelfile":"FROM x"}`)
	})
	mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model    string
			Messages []struct{ Role, Content string }
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		line := func(content string, done bool) {
			b, _ := json.Marshal(map[string]any{"model": req.Model, "message": map[string]string{"role": "assistant", "content": content}, "done": done})
			w.Write(append(b, '\n'))
			w.(http.Flusher).Flush()
		}
		if !strings.Contains(req.Messages[len(req.Messages)-1].Content, marker) {
			line("ok", true)
			return
		}
		for i, p := range pieces {
			if i == 1 {
				select {
				case <-m.rest:
				case <-r.Context().Done():
					return
				case <-stop:
					return
				}
			}
			line(p, false)
		}
		line("", true)
	})
	m.srv = httptest.NewServer(mux)
	t.Cleanup(func() { close(stop); m.srv.Close() })
	return m
}

func (m *gatedModel) releaseRest() { m.once.Do(func() { close(m.rest) }) }

// upload adds a document through the admin API.
func (s *server) upload(t *testing.T, name, text string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write([]byte(text))
	mw.Close()
	req, _ := http.NewRequest("POST", s.base+"/admin/api/knowledge/upload", &body)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("upload %s: HTTP %d", name, res.StatusCode)
	}
}

// TestWidgetStreamsTheAnswer: with a model that writes its answer in
// pieces, the widget shows the first words while the model still holds the
// rest, then the whole answer; the server stored exactly the streamed text.
func TestWidgetStreamsTheAnswer(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		skipOrFail(t, "no Chromium found (install it with .ci/chromium.sh or apt-get install chromium, or set CHATBOT_CHROMIUM)")
	}
	const question = "How many days do I have to get a refund?"
	pieces := []string{"Refunds are accepted ", "within 30 days ", "of purchase [1]."}
	model := newGatedModel(t, question, pieces...)
	srv := startServerWith(t, buildBinary(t), "--llm", "ollama", "--ollama-host", model.srv.URL, "--chat-model", "llama3.2")
	shots := newShots(t)
	ctx := newBrowser(t, chromium)
	srv.upload(t, "refunds.md", "# Refunds\n\n## Refund window\n\nRefunds are accepted within 30 days of purchase with the original receipt.\n")

	siteURL := shopWithWidget(t, srv)

	const shadow = `document.querySelector('[data-chatbot-widget]').shadowRoot`
	if err := chromedp.Do(ctx, chromedp.Navigate(siteURL+"/"), chromedp.WaitReady(chromedp.CSS(`[data-chatbot-widget]`))); err != nil {
		t.Fatalf("widget did not load: %v", err)
	}
	// Record the streamed text: the last text of the element that shows
	// the answer as it comes (it is replaced by the final answer at once,
	// so the records, not a later query, hold its last state).
	observe := `(function () { var root = ` + shadow + `; window.__streamed = '';
new MutationObserver(function (records) { records.forEach(function (r) {
  var n = r.target.nodeType === 3 ? r.target.parentNode : r.target;
  if (n && n.classList && n.classList.contains('pending')) window.__streamed = n.textContent;
}); }).observe(root.querySelector('.l'), { childList: true, subtree: true, characterData: true });
root.querySelector('.b').click(); return true; })()`
	if err := runJS(ctx, observe); err != nil {
		t.Fatal(err)
	}
	if err := runJS(ctx, shadow+`.querySelector('textarea').value = `+jsString(question)+`; `+shadow+`.querySelector('form').requestSubmit(); true`); err != nil {
		t.Fatal(err)
	}

	// The first words show while the model holds the rest.
	if err := waitJS(ctx, `(`+shadow+`.querySelector('.m.a.pending') || {}).textContent === `+jsString(pieces[0])+` || `+shadow+`.querySelector('.e').textContent !== ''`); err != nil {
		t.Fatalf("the first words did not show before the answer was complete: %v (error %q)", err, evalString(t, ctx, shadow+`.querySelector('.e').textContent`))
	}
	if e := evalString(t, ctx, shadow+`.querySelector('.e').textContent`); e != "" {
		t.Fatalf("widget error: %q", e)
	}
	if got := evalString(t, ctx, `String(`+shadow+`.querySelectorAll('.m.a:not(.pending)').length) + ' ' + String(`+shadow+`.querySelector('form button').disabled)`); got != "0 true" {
		t.Fatalf("while streaming: finished answers and send disabled = %q, want \"0 true\"", got)
	}
	shots.take(t, ctx, "widget-streaming-first-words")

	model.releaseRest()
	if err := waitJS(ctx, `!`+shadow+`.querySelector('.pending') && `+shadow+`.querySelectorAll('.m.a').length === 1 && !`+shadow+`.querySelector('form button').disabled`); err != nil {
		t.Fatalf("the answer did not complete: %v", err)
	}
	if e := evalString(t, ctx, shadow+`.querySelector('.e').textContent`); e != "" {
		t.Fatalf("widget error: %q", e)
	}
	whole := strings.Join(pieces, "")
	streamed := evalString(t, ctx, `window.__streamed`)
	shown := evalString(t, ctx, shadow+`.querySelector('.m.a').firstChild.textContent`)
	if streamed != whole || shown != whole {
		t.Fatalf("streamed %q, shown %q, want %q", streamed, shown, whole)
	}
	// The stored answer ends with its sources list; the widget shows it
	// once (no sources line of its own).
	if got := evalString(t, ctx, shadow+`.querySelector('.m.a').textContent`); strings.Count(got, "Refunds > Refund window") != 1 ||
		evalString(t, ctx, `String(!!`+shadow+`.querySelector('.m.a .s'))`) != "false" {
		t.Errorf("answer shown: %q, want its source once and no sources line", got)
	}
	var list struct {
		Messages []struct {
			Text         string `json:"message"`
			ResponseType string `json:"response_type"`
		} `json:"messages"`
	}
	if code := srv.api(t, "GET", "/api/webhook/messages?platform=widget&message_type=outgoing", nil, &list); code != http.StatusOK ||
		len(list.Messages) != 1 || list.Messages[0].Text != streamed+"\n\nSources:\n1. Refunds > Refund window" || list.Messages[0].ResponseType != "rag_knowledge_base" {
		t.Fatalf("stored answers: %d %+v, want the streamed %q", code, list.Messages, streamed)
	}
	shots.take(t, ctx, "widget-streamed-answer-complete")
}
