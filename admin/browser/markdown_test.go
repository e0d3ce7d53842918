package browser

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// markdownBlock is the renderer's code between its marker lines, without
// the indentation it has inside widget.js.
func markdownBlock(t *testing.T, path, indent string) string {
	t.Helper()
	name := filepath.Base(path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	begin, end := strings.Index(src, indent+"// markdown:begin\n"), strings.Index(src, indent+"// markdown:end")
	if begin < 0 || end < begin {
		t.Fatalf("%s has no renderer between the markdown:begin and markdown:end lines", name)
	}
	var lines []string
	for _, l := range strings.Split(src[begin:end], "\n") {
		lines = append(lines, strings.TrimPrefix(l, indent))
	}
	return strings.Join(lines, "\n")
}

// The widget, a single script loaded on customers' sites, carries a copy
// of the panel's renderer (markdown.js): the two must not drift apart.
// Neither may use an API that parses a string as HTML or code.
func TestMarkdownCopiesMatch(t *testing.T) {
	// The panel's renderer is admin/ui's; the widget's script lives with
	// the widget's chat API (widget/).
	panel, widget := markdownBlock(t, filepath.Join("..", "ui", "markdown.js"), ""), markdownBlock(t, filepath.Join("..", "..", "widget", "widget.js"), "  ")
	if panel != widget {
		t.Fatalf("the renderer in widget.js differs from markdown.js; copy markdown.js's block into widget.js (indented two spaces)")
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "DOMParser", "createContextualFragment"} {
		if strings.Contains(panel, bad) {
			t.Errorf("markdown.js uses %s", bad)
		}
	}
}

// The renderer in a real browser: the safe subset becomes elements, markup
// stays text, and only http, https and mailto addresses become links.
func TestMarkdownRendersSafely(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		skipOrFail(t, "no Chromium found (install it with .ci/chromium.sh or apt-get install chromium, or set CHATBOT_CHROMIUM)")
	}
	js, err := os.ReadFile(filepath.Join("..", "ui", "markdown.js"))
	if err != nil {
		t.Fatal(err)
	}
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/markdown.js" {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(js)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><body><div id="out"></div><script src="/markdown.js"></script></body></html>`)
	}))
	defer page.Close()
	ctx := newBrowser(t, chromium)
	if err := runJS(ctx, `location.href = `+jsString(page.URL+"/")+`; true`); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `typeof renderMarkdown === 'function' && !!document.getElementById('out')`); err != nil {
		t.Fatalf("markdown.js did not load: %v", err)
	}
	render := func(md string) string {
		t.Helper()
		// innerHTML only reads the result back for the comparison.
		return evalString(t, ctx, `(function () { var out = document.getElementById('out'); out.textContent = '';
			out.appendChild(renderMarkdown(document, `+jsString(md)+`)); return out.innerHTML; })()`)
	}
	const rel = ` rel="noopener noreferrer nofollow" target="_blank"`
	for _, c := range []struct{ md, want string }{
		{"> Refunds are paid within 5 working days.\n  (Returns and refunds, https://help.example.com/refunds)",
			`<blockquote><p>Refunds are paid within 5 working days.</p></blockquote>` +
				`<p>(Returns and refunds, <a href="https://help.example.com/refunds"` + rel + `>https://help.example.com/refunds</a>)</p>`},
		{"> - Germany: 4.90 EUR\n> - Austria: 6.90 EUR\n  (Shipping)",
			`<blockquote><ul><li>Germany: 4.90 EUR</li><li>Austria: 6.90 EUR</li></ul></blockquote><p>(Shipping)</p>`},
		{"First line\nsecond line\n\n1. **one**\n2. *two* and `code`",
			`<p>First line<br>second line</p><ol><li><strong>one</strong></li><li><em>two</em> and <code>code</code></li></ol>`},
		{xss, `<p>&lt;img src=x onerror="window.__xss='img'"&gt;&lt;script&gt;window.__xss='script'&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;</p>`},
		{"[click](javascript:alert(1)) [x](JaVaScRiPt:window.__xss=1) [d](data:text/html,hi) [v](vbscript:x) [r](/relative)",
			`<p><span>click</span> <span>x</span> <span>d</span> <span>v</span> <span>r</span></p>`},
		{"[help](https://example.com/a?b=1&c=2) [mail](mailto:help@example.com) javascript:alert(1)",
			`<p><a href="https://example.com/a?b=1&amp;c=2"` + rel + `>help</a> <a href="mailto:help@example.com"` + rel + `>mail</a> javascript:alert(1)</p>`},
		{"[**bold** <script>x</script>](https://example.com/)",
			`<p><a href="https://example.com/"` + rel + `><strong>bold</strong> &lt;script&gt;x&lt;/script&gt;</a></p>`},
		{"```\n<script>window.__xss='code'</script>\n```", `<pre><code>&lt;script&gt;window.__xss='code'&lt;/script&gt;</code></pre>`},
	} {
		if got := render(c.md); got != c.want {
			t.Errorf("render(%q)\n got %s\nwant %s", c.md, got, c.want)
		}
	}
	if n := evalString(t, ctx, `String(document.querySelectorAll('script, img, b, iframe').length)`); n != "1" { // markdown.js's own tag
		t.Errorf("markup became %s elements", n)
	}
	noScriptRan(t, ctx, "rendered Markdown")
}
