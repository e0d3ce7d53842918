package crawl

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxSitemaps bounds the sitemap files read in one crawl (an index of
// indexes could otherwise be walked forever).
const maxSitemaps = 1000

// sitemapURLs reads sitemaps and sitemap indexes, breadth first, and
// returns the page URLs they list on the allowed hosts, in order, without
// duplicates, stopping once MaxPages pages that pass the filters are
// listed: the crawl would take no more.
func (c *crawler) sitemapURLs(ctx context.Context, roots []string) ([]*url.URL, error) {
	queue := append([]string(nil), roots...)
	seenMap := map[string]bool{}
	seenURL := map[string]bool{}
	var out []*url.URL
	wanted := 0
	read := 0
	var firstErr error
	for len(queue) > 0 && wanted < c.opts.MaxPages && read < maxSitemaps {
		sm := queue[0]
		queue = queue[1:]
		if seenMap[sm] {
			continue
		}
		seenMap[sm] = true
		su, err := url.Parse(sm)
		if err != nil || !c.hosts[strings.ToLower(su.Host)] {
			continue // a sitemap on another host may not list this one's pages
		}
		read++
		pages, maps, err := c.readSitemap(ctx, su.String())
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			c.skip(sm, "sitemap: "+err.Error())
			continue
		}
		queue = append(queue, maps...)
		for _, p := range pages {
			u, err := url.Parse(strings.TrimSpace(p))
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				continue
			}
			u = normalize(u)
			if seenURL[u.String()] {
				continue
			}
			seenURL[u.String()] = true
			out = append(out, u)
			if c.hosts[u.Host] && c.matches(u) {
				wanted++
				if wanted >= c.opts.MaxPages {
					break
				}
			}
		}
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// readSitemap fetches one sitemap and returns its page URLs (a urlset) or
// its sitemaps (an index).
func (c *crawler) readSitemap(ctx context.Context, u string) (pages, maps []string, err error) {
	resp, done, err := c.get(ctx, u, Validators{})
	if err != nil {
		return nil, nil, errors.New(scrub(err))
	}
	defer done()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	// The protocol allows 50 MB uncompressed.
	body, err := readLimited(resp.Body, max(10*c.opts.MaxBytes, 50<<20))
	if err != nil {
		return nil, nil, err
	}
	return parseSitemap(bytes.NewReader(body))
}

// parseSitemap reads the <loc> of <url> and <sitemap> entries.
func parseSitemap(r io.Reader) (pages, maps []string, err error) {
	dec := xml.NewDecoder(r)
	dec.Strict = false
	var parent string
	var inLoc bool
	var loc strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("not a sitemap: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "url", "sitemap":
				parent = t.Name.Local
			case "loc":
				inLoc = parent != ""
				loc.Reset()
			}
		case xml.CharData:
			if inLoc {
				loc.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "loc":
				if inLoc {
					if s := strings.TrimSpace(loc.String()); s != "" {
						if parent == "url" {
							pages = append(pages, s)
						} else {
							maps = append(maps, s)
						}
					}
				}
				inLoc = false
			case "url", "sitemap":
				parent = ""
			}
		}
	}
	return pages, maps, nil
}
