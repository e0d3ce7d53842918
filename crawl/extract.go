package crawl

import (
	"bytes"
	"net/url"
	"strings"

	readability "codeberg.org/readeck/go-readability/v2"
	"golang.org/x/net/html"
)

// extracted is what one HTML page gives the crawl.
type extracted struct {
	title     string
	content   []byte // the main content as HTML
	canonical *url.URL
	links     []*url.URL
	noindex   bool
	nofollow  bool
}

// extract finds the page's links, canonical URL and robots meta, and
// reduces it to its main content with codeberg.org/readeck/go-readability
// (a maintained fork of go-shiori/go-readability, itself a port of
// Mozilla's Readability; go-shiori's is archived. It depends on
// golang.org/x/net/html, already ours, and two small libraries:
// go-shiori/dom and a date parser). A page it finds no article in is kept
// whole: rag's HTML reader drops navigation, scripts and footers itself.
func extract(body []byte, base *url.URL, hosts map[string]bool) extracted {
	var ex extracted
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return extracted{content: body}
	}
	seen := map[string]bool{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "a":
				href := attr(n, "href")
				rel := strings.ToLower(attr(n, "rel"))
				if u := resolve(base, href); u != nil && hosts[u.Host] && !seen[u.String()] && !strings.Contains(rel, "nofollow") {
					seen[u.String()] = true
					ex.links = append(ex.links, u)
				}
			case "link":
				if strings.EqualFold(strings.TrimSpace(attr(n, "rel")), "canonical") {
					if u := resolve(base, attr(n, "href")); u != nil && hosts[u.Host] {
						ex.canonical = u
					}
				}
			case "meta":
				if strings.EqualFold(attr(n, "name"), "robots") {
					c := strings.ToLower(attr(n, "content"))
					ex.noindex = ex.noindex || strings.Contains(c, "noindex") || strings.Contains(c, "none")
					ex.nofollow = ex.nofollow || strings.Contains(c, "nofollow") || strings.Contains(c, "none")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	ex.content = body
	if art, err := readability.FromDocument(doc, base); err == nil && art.Node != nil {
		var buf bytes.Buffer
		if err := art.RenderHTML(&buf); err == nil && len(bytes.TrimSpace(buf.Bytes())) > 0 {
			ex.content = buf.Bytes()
			ex.title = strings.TrimSpace(art.Title())
		}
	}
	return ex
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

// resolve makes href absolute against base; nil for other schemes.
func resolve(base *url.URL, href string) *url.URL {
	href = strings.TrimSpace(href)
	if href == "" || strings.HasPrefix(href, "#") {
		return nil
	}
	u, err := base.Parse(href)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil
	}
	return normalize(u)
}
