package admin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

//go:embed all:ui
var uiFS embed.FS

// UI returns the embedded front end (index.html and the fingerprinted
// assets' sources), for tests and tools. The widget's script is served by
// the widget package.
func UI() fs.FS {
	sub, err := fs.Sub(uiFS, "ui")
	if err != nil {
		panic(err) // the directory is compiled in; this cannot fail
	}
	return sub
}

// ContentSecurityPolicy is sent with the panel: only our own scripts,
// styles and API; no inline script, no framing, nothing from elsewhere.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// unfingerprinted files keep their name: the page itself.
var unfingerprinted = map[string]bool{"index.html": true}

type asset struct {
	body []byte
	ct   string
}

type assets struct {
	index  []byte
	byName map[string]asset // fingerprinted name -> asset
	paths  map[string]string
}

// loadAssets reads the embedded files, names each asset by its content hash
// ("app.3f2a9c1b7d.js") and points index.html at those names, so the
// assets can be cached for a year and a new binary still loads new ones.
func loadAssets() (*assets, error) {
	ui := UI()
	a := &assets{byName: map[string]asset{}, paths: map[string]string{}}
	var pairs []string
	err := fs.WalkDir(ui, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(ui, p)
		if err != nil {
			return err
		}
		switch {
		case p == "index.html":
			a.index = body
		case !unfingerprinted[p] && !strings.Contains(p, "/"):
			sum := sha256.Sum256(body)
			ext := path.Ext(p)
			name := strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:5]) + ext
			ct := mime.TypeByExtension(ext)
			if ct == "" {
				ct = "application/octet-stream"
			}
			a.byName[name] = asset{body: body, ct: ct}
			a.paths[p] = "/admin/assets/" + name
			pairs = append(pairs, "/admin/assets/"+p, "/admin/assets/"+name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load admin assets: %w", err)
	}
	if a.index == nil {
		return nil, fmt.Errorf("load admin assets: index.html missing")
	}
	a.index = []byte(strings.NewReplacer(pairs...).Replace(string(a.index)))
	return a, nil
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("Cache-Control", "no-store")
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(h.assets.index))
}

func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets.byName[mux.Vars(r)["name"]]
	if !ok {
		http.Error(w, "no such asset (the page may be older than the server: reload it)", http.StatusNotFound)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ct)
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(a.body)
}
