package widget

import (
	"strings"
	"testing"
)

// The script is served at the URL operators paste, cached briefly, and
// loadable from other origins.
func TestScriptServed(t *testing.T) {
	e := newEnv(t, nil)
	w := e.do(nil, "GET", "/widget.js", nil, nil)
	if w.status != 200 || w.header.Get("Cache-Control") != "public, max-age=300" || !strings.Contains(w.raw, "/api/chat") ||
		w.header.Get("Cross-Origin-Resource-Policy") != "cross-origin" || !strings.HasPrefix(w.header.Get("Content-Type"), "text/javascript") {
		t.Errorf("widget.js: %d %v", w.status, w.header)
	}
}

// TestScriptNeverParsesHTML: text from visitors, agents and the server
// reaches the host page through textContent only, so the script may use no
// API that parses a string as HTML or code, and loads nothing from outside.
func TestScriptNeverParsesHTML(t *testing.T) {
	banned := []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setTimeout('", "setInterval('"}
	src := string(Script())
	for _, bad := range banned {
		if strings.Contains(src, bad) {
			t.Errorf("widget.js uses %s", bad)
		}
	}
	for _, bad := range []string{"http://", "https://"} {
		// Only in comments (the snippet example) or the SVG namespace.
		for _, line := range strings.Split(src, "\n") {
			l := strings.TrimSpace(line)
			if strings.Contains(l, bad) && !strings.HasPrefix(l, "//") && !strings.Contains(l, "www.w3.org/2000/svg") && !strings.Contains(l, "placeholder") {
				t.Errorf("widget.js loads or names an outside URL: %s", l)
			}
		}
	}
}
