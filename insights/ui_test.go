package insights

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/admin"
)

// TestInsightsUINeverParsesHTML holds insights.js to the panel's rule
// (admin's TestUINeverParsesHTML): text reaches the page through
// textContent only; and the page loads it.
func TestInsightsUINeverParsesHTML(t *testing.T) {
	b, err := fs.ReadFile(admin.UI(), "insights.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setTimeout('", "setInterval('"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("insights.js uses %s", bad)
		}
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "://") && !strings.Contains(line, "www.w3.org/2000/svg") {
			t.Errorf("insights.js names an outside URL: %s", strings.TrimSpace(line))
		}
	}
	idx, _ := fs.ReadFile(admin.UI(), "index.html")
	if !strings.Contains(string(idx), `<script src="/admin/assets/insights.js" defer></script>`) || !strings.Contains(string(idx), `href="#insights"`) {
		t.Error("index.html does not load insights.js or link the Insights section")
	}
}
