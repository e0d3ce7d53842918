package admin

import (
	"io/fs"
	"strings"
	"testing"
)

// TestUINeverParsesHTML keeps the front end honest: text from users and the
// server reaches the page through textContent only, so no file may use an
// API that parses a string as HTML or code.
func TestUINeverParsesHTML(t *testing.T) {
	banned := []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setTimeout('", "setInterval('", "http://", "https://"}
	for _, name := range []string{"app.js"} {
		b, err := fs.ReadFile(UI(), name)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, bad := range banned {
			if bad == "https://" || bad == "http://" {
				// Only in comments (the snippet example) or the SVG namespace.
				for _, line := range strings.Split(src, "\n") {
					l := strings.TrimSpace(line)
					if strings.Contains(l, bad) && !strings.HasPrefix(l, "//") && !strings.Contains(l, "www.w3.org/2000/svg") && !strings.Contains(l, "placeholder") {
						t.Errorf("%s loads or names an outside URL: %s", name, l)
					}
				}
				continue
			}
			if strings.Contains(src, bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
	idx, _ := fs.ReadFile(UI(), "index.html")
	if strings.Contains(string(idx), "<script>") || strings.Contains(string(idx), "style=") || strings.Contains(string(idx), " on") && strings.Contains(string(idx), "onclick") {
		t.Error("index.html has inline script or style, which the CSP forbids")
	}
}
