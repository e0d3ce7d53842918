package crawl

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/temoto/robotstxt"
)

// robotsCache fetches each host's robots.txt once per crawl, parsed with
// github.com/temoto/robotstxt (chosen over github.com/jimsmart/grobotstxt,
// a port of Google's parser, which the module proxy does not serve here;
// temoto's has no dependencies, follows the status rules of RFC 9309 —
// 4xx allows all, 5xx disallows all — and reads Crawl-delay and Sitemap).
type robotsCache struct {
	c     *crawler
	mu    sync.Mutex
	hosts map[string]*robotsEntry
}

type robotsEntry struct {
	once sync.Once
	data *robotstxt.RobotsData
	// failure says why robots.txt could not be read (everything is then
	// disallowed); "" when it was read or is absent.
	failure string
}

func newRobotsCache(c *crawler) *robotsCache {
	return &robotsCache{c: c, hosts: map[string]*robotsEntry{}}
}

// maxRobotsBytes bounds robots.txt (Google reads 500 KiB).
const maxRobotsBytes = 512 << 10

func (rc *robotsCache) get(ctx context.Context, u *url.URL) *robotsEntry {
	rc.mu.Lock()
	e := rc.hosts[u.Scheme+"://"+u.Host]
	if e == nil {
		e = &robotsEntry{}
		rc.hosts[u.Scheme+"://"+u.Host] = e
	}
	rc.mu.Unlock()
	e.once.Do(func() {
		e.data, e.failure = rc.fetch(ctx, u)
	})
	return e
}

// fetch reads a host's robots.txt. Unreachable, or a server error, means
// everything is disallowed (RFC 9309 2.3.1.4) and is reported, so that a
// site that is down fails the sync instead of looking empty.
func (rc *robotsCache) fetch(ctx context.Context, u *url.URL) (*robotstxt.RobotsData, string) {
	disallowAll, _ := robotstxt.FromStatusAndBytes(503, nil)
	ru := url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/robots.txt"}
	resp, done, err := rc.c.get(ctx, ru.String(), Validators{})
	if err != nil {
		return disallowAll, "robots.txt unreachable: " + scrub(err)
	}
	defer done()
	defer resp.Body.Close()
	body, err := readLimited(resp.Body, maxRobotsBytes)
	if err != nil && err != errTooLarge {
		return disallowAll, "robots.txt unreadable: " + scrub(err)
	}
	if resp.StatusCode >= 500 {
		return disallowAll, fmt.Sprintf("robots.txt answered HTTP %d", resp.StatusCode)
	}
	d, err := robotstxt.FromStatusAndBytes(resp.StatusCode, body)
	if err != nil { // unparsable or an odd status: as if absent
		d, _ = robotstxt.FromStatusAndBytes(404, nil)
	}
	return d, ""
}

// failure says why the host's robots.txt could not be read, or "".
func (rc *robotsCache) failure(ctx context.Context, u *url.URL) string {
	return rc.get(ctx, u).failure
}

func (rc *robotsCache) allowed(ctx context.Context, u *url.URL) bool {
	p := u.EscapedPath()
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return rc.get(ctx, u).data.TestAgent(p, rc.c.opts.UserAgent)
}

func (rc *robotsCache) delay(ctx context.Context, u *url.URL) time.Duration {
	if g := rc.get(ctx, u).data.FindGroup(rc.c.opts.UserAgent); g != nil {
		return g.CrawlDelay
	}
	return 0
}

// sitemaps lists the Sitemap: lines of the start host's robots.txt.
func (rc *robotsCache) sitemaps(ctx context.Context, u *url.URL) []string {
	return rc.get(ctx, u).data.Sitemaps
}
