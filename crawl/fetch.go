package crawl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html/charset"

	"github.com/chatbot/chatbot/internal/netguard"
)

// maxRedirects bounds a redirect chain; a loop ends here.
const maxRedirects = 10

// errRedirectHost is a redirect off the allowed hosts; errRedirectLoop a
// chain too long.
var (
	errRedirectHost = errors.New("redirect leaves the allowed hosts")
	errRedirectLoop = errors.New("too many redirects")
)

// newClient returns the crawl's HTTP client: every connection through the
// address guard, no proxy (a proxy would dial for us, past the guard),
// redirects only to allowed hosts over http(s).
func newClient(policy *netguard.AddrPolicy, hosts map[string]bool) *http.Client {
	dialer := netguard.NewDialer(policy, nil)
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("%w: stopped after %d", errRedirectLoop, maxRedirects)
			}
			u := req.URL
			if (u.Scheme != "http" && u.Scheme != "https") || !hosts[strings.ToLower(u.Host)] {
				return fmt.Errorf("%w: %s", errRedirectHost, u.Redacted())
			}
			return nil
		},
	}
}

// get makes one request with the crawl's time limit; the caller closes
// the body and calls done.
func (c *crawler) get(ctx context.Context, u string, known Validators) (*http.Response, context.CancelFunc, error) {
	rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,text/plain;q=0.9,text/markdown;q=0.9,*/*;q=0.1")
	if known.ETag != "" {
		req.Header.Set("If-None-Match", known.ETag)
	}
	if known.LastModified != "" {
		req.Header.Set("If-Modified-Since", known.LastModified)
	}
	c.count(func(r *Result) { r.Requests++ })
	resp, err := c.client.Do(req)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return resp, cancel, nil
}

// readLimited reads at most limit bytes of body; more is errTooLarge.
func readLimited(body io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

var errTooLarge = errors.New("too large")

// fetchPage fetches one page and returns it (nil when it is not indexed:
// recorded as gone, kept or skipped) and, when follow, its links on the
// allowed hosts.
func (c *crawler) fetchPage(ctx context.Context, u *url.URL, follow bool) (*Page, []*url.URL) {
	key := u.String()
	prior := c.opts.Known[key]
	resp, done, err := c.get(ctx, key, prior.Validators)
	if err != nil {
		c.failed(key, err)
		return nil, nil
	}
	defer done()
	defer resp.Body.Close()
	final := normalize(resp.Request.URL)
	switch {
	case resp.StatusCode == http.StatusNotModified:
		c.count(func(r *Result) { r.Pages++; r.NotModified++ })
		var links []*url.URL
		for _, l := range prior.Links {
			if lu, err := url.Parse(l); err == nil && follow {
				links = append(links, lu)
			}
		}
		return &Page{URL: key, NotModified: true, Validators: prior.Validators, Links: prior.Links}, links
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		c.count(func(r *Result) { r.Gone = append(r.Gone, key) })
		return nil, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		c.count(func(r *Result) { r.Kept = append(r.Kept, key) })
		c.skip(key, fmt.Sprintf("HTTP %d; the indexed version is kept", resp.StatusCode))
		return nil, nil
	case resp.StatusCode != http.StatusOK:
		c.skip(key, fmt.Sprintf("HTTP %d", resp.StatusCode))
		return nil, nil
	}
	if final.String() != key && !c.robots.allowed(ctx, final) {
		c.skip(key, "redirects to "+final.String()+", disallowed by robots.txt")
		return nil, nil
	}
	ctype := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ctype)
	format := map[string]string{"text/html": "html", "application/xhtml+xml": "html", "text/plain": "text", "text/markdown": "markdown", "text/x-markdown": "markdown"}[mt]
	if format == "" {
		c.skip(key, fmt.Sprintf("content type %q is not indexed (HTML, plain text and Markdown are)", mt))
		return nil, nil
	}
	raw, err := readLimited(resp.Body, c.opts.MaxBytes)
	if errors.Is(err, errTooLarge) {
		c.skip(key, fmt.Sprintf("larger than the page limit of %d bytes", c.opts.MaxBytes))
		return nil, nil
	}
	if err != nil {
		c.failed(key, err)
		return nil, nil
	}
	body, err := toUTF8(raw, ctype)
	if err != nil {
		c.skip(key, "unreadable character set: "+err.Error())
		return nil, nil
	}
	p := &Page{URL: key, Canonical: final.String(), Format: format,
		Validators: Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}}
	var links []*url.URL
	if format == "html" {
		ex := extract(body, final, c.hosts)
		p.Title, p.Content = ex.title, ex.content
		if ex.canonical != nil {
			p.Canonical = ex.canonical.String()
		}
		if ex.noindex {
			c.skip(key, "marked noindex")
			if follow && !ex.nofollow {
				links = ex.links
			}
			return nil, links
		}
		if !ex.nofollow {
			for _, l := range ex.links {
				p.Links = append(p.Links, l.String())
			}
			if follow {
				links = ex.links
			}
		}
	} else {
		p.Content = body
	}
	if p != nil {
		c.count(func(r *Result) { r.Pages++ })
	}
	return p, links
}

// failed records a request that did not complete: a timeout or a network
// error keeps the indexed version; a refused redirect or address is a skip.
func (c *crawler) failed(key string, err error) {
	var be *netguard.BlockedError
	switch {
	case errors.As(err, &be):
		c.skip(key, be.Error())
	case errors.Is(err, errRedirectHost):
		c.skip(key, "redirect leaves the allowed hosts (list the host with --host to follow it)")
	case errors.Is(err, errRedirectLoop):
		c.skip(key, fmt.Sprintf("more than %d redirects (a redirect loop?)", maxRedirects))
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		c.count(func(r *Result) { r.Kept = append(r.Kept, key) })
		c.skip(key, fmt.Sprintf("no complete answer within %s; the indexed version is kept", c.opts.Timeout))
	default:
		c.count(func(r *Result) { r.Kept = append(r.Kept, key) })
		c.skip(key, "request failed: "+scrub(err)+"; the indexed version is kept")
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// scrub drops the Go wrapping ("Get \"...\": ") from a request error.
func scrub(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// toUTF8 converts a body to UTF-8 from the charset its Content-Type or its
// <meta> names (golang.org/x/net/html/charset's sniffing).
func toUTF8(b []byte, contentType string) ([]byte, error) {
	r, err := charset.NewReader(strings.NewReader(string(b)), contentType)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}
