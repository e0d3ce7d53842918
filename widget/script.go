package widget

import (
	"bytes"
	_ "embed"
	"net/http"
	"time"
)

// script is the widget sites embed. It lives here, not with the panel's
// assets, because it is the one client of this package's API: the request
// and event formats it speaks change together with chat.go and stream.go,
// and a server without the panel's routes still serves it.
//
//go:embed widget.js
var script []byte

// Script returns the embedded widget script, for tests and tools.
func Script() []byte { return bytes.Clone(script) }

func serveScript(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/javascript; charset=utf-8")
	// Not fingerprinted (operators paste the URL), so cached briefly.
	hd.Set("Cache-Control", "public, max-age=300")
	hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
	http.ServeContent(w, r, "widget.js", time.Time{}, bytes.NewReader(script))
}
