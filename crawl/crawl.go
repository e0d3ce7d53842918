// Package crawl reads a website for the knowledge base: from a start page
// (following links) or a sitemap, on the allowed hosts only, as robots.txt
// permits, through the outbound address guard (internal/netguard), with
// conditional requests so that an unchanged page costs one round trip.
// It returns each page's main content, title and canonical URL; what is
// indexed, kept or removed is the caller's business (rag/sync.go).
package crawl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chatbot/chatbot/internal/netguard"
)

// Defaults for the zero Options.
const (
	DefaultMaxPages    = 1000
	DefaultMaxDepth    = 5
	DefaultMaxBytes    = 5 << 20
	DefaultTimeout     = 30 * time.Second
	DefaultConcurrency = 2
	DefaultUserAgent   = "chatbot-crawler/1 (+knowledge-base sync)"
	// maxCrawlDelay caps a robots.txt Crawl-delay: a site asking for an
	// hour between pages would never finish a sync.
	maxCrawlDelay = 10 * time.Second
)

// Options configure a crawl.
type Options struct {
	// Start is the start page, or a sitemap (a URL ending in .xml).
	Start string
	// Hosts are other hosts that may be crawled besides Start's.
	Hosts []string
	// Include and Exclude are URL path patterns where * matches any run of
	// characters ("/docs/*"); a page is crawled when it matches an Include
	// (or there are none) and no Exclude.
	Include, Exclude []string
	// MaxPages bounds the pages requested (default DefaultMaxPages).
	MaxPages int
	// MaxDepth bounds the links followed from the start page or the
	// sitemap's pages (default DefaultMaxDepth from a start page, 0 from a
	// sitemap: it lists the pages already). Negative means 0.
	MaxDepth int
	// Concurrency is the number of requests in flight (default 2).
	Concurrency int
	// Delay is each worker's pause between two requests; robots.txt's
	// Crawl-delay raises it.
	Delay time.Duration
	// MaxBytes bounds a page's body (default DefaultMaxBytes); sitemaps may be 10 times larger.
	MaxBytes int64
	// Timeout bounds one request, body included (default DefaultTimeout).
	Timeout time.Duration
	// Policy is the outbound address guard (nil: the default, no private
	// addresses).
	Policy *netguard.AddrPolicy
	// UserAgent is sent and matched against robots.txt.
	UserAgent string
	// Known holds what earlier crawls learnt of each page, by URL: the
	// validators for a conditional request and the links, followed again
	// when the page is not modified.
	Known map[string]Prior
}

// Prior is what an earlier crawl learnt of a page.
type Prior struct {
	Validators
	Links []string
}

// Validators are a page's ETag and Last-Modified.
type Validators struct {
	ETag, LastModified string
}

// Page is one page the crawl reached.
type Page struct {
	URL       string // as requested: the page's identity between syncs
	Canonical string // the citation: <link rel=canonical> on an allowed host, else the final URL
	Title     string
	// Content is the main content: HTML (Format "html") or text.
	Content     []byte
	Format      string // html | text | markdown
	NotModified bool   // 304: Content is empty, the old version stands
	Validators
	// Links are the page's links on the allowed hosts (kept from Known
	// for a 304), for the caller to remember.
	Links []string
}

// Skip is a URL that was not indexed, and why.
type Skip struct {
	URL    string `json:"url"`
	Reason string `json:"reason"`
}

// Result reports a crawl.
type Result struct {
	Requests    int      // HTTP requests made, robots.txt and sitemaps included
	Pages       int      // pages delivered (fetched or not modified)
	NotModified int      // of which unchanged
	Gone        []string // 404 or 410
	Kept        []string // failed for a reason that may pass (timeout, 5xx): keep what was indexed
	Skipped     []Skip
}

// ErrStart means the start URL could not be used at all.
var ErrStart = errors.New("cannot crawl the start URL")

// Crawl reads the site and calls visit for every page, from one goroutine
// at a time. An error from visit stops the crawl and is returned.
func Crawl(ctx context.Context, opts Options, visit func(Page) error) (Result, error) {
	c, err := newCrawler(opts)
	if err != nil {
		return Result{}, err
	}
	return c.run(ctx, visit)
}

type crawler struct {
	opts    Options
	start   *url.URL
	hosts   map[string]bool
	include []matcher
	exclude []matcher
	client  *http.Client
	robots  *robotsCache

	mu  sync.Mutex
	res Result
}

func newCrawler(opts Options) (*crawler, error) {
	start, err := url.Parse(strings.TrimSpace(opts.Start))
	if err != nil || (start.Scheme != "http" && start.Scheme != "https") || start.Host == "" {
		return nil, fmt.Errorf("%w: %q is not an http(s) URL such as https://help.example.com/", ErrStart, opts.Start)
	}
	start = normalize(start)
	if opts.MaxPages <= 0 {
		opts.MaxPages = DefaultMaxPages
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.Policy == nil {
		if opts.Policy, err = netguard.ParseAllowList(""); err != nil {
			return nil, err
		}
	}
	c := &crawler{opts: opts, start: start, hosts: map[string]bool{start.Host: true}}
	for _, h := range opts.Hosts {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			c.hosts[h] = true
		}
	}
	if c.include, err = compilePatterns("include", opts.Include); err != nil {
		return nil, err
	}
	if c.exclude, err = compilePatterns("exclude", opts.Exclude); err != nil {
		return nil, err
	}
	c.client = newClient(opts.Policy, c.hosts)
	c.robots = newRobotsCache(c)
	return c, nil
}

// isSitemap reports whether the start URL names a sitemap.
func isSitemap(u *url.URL) bool {
	p := strings.ToLower(u.Path)
	return strings.HasSuffix(p, ".xml")
}

type target struct {
	u     *url.URL
	depth int
}

func (c *crawler) run(ctx context.Context, visit func(Page) error) (Result, error) {
	maxDepth := c.opts.MaxDepth
	if f := c.robots.failure(ctx, c.start); f != "" {
		return c.result(), fmt.Errorf("%w: %s", ErrStart, f)
	}
	var level []target
	if isSitemap(c.start) {
		urls, err := c.sitemapURLs(ctx, []string{c.start.String()})
		if err != nil {
			return c.result(), fmt.Errorf("%w: sitemap %s: %w", ErrStart, c.start, err)
		}
		for _, u := range urls {
			level = append(level, target{u: u})
		}
	} else {
		if maxDepth == 0 {
			maxDepth = DefaultMaxDepth
		}
		level = []target{{u: c.start}}
		// robots.txt's Sitemap: lines list pages links may not reach.
		if maps := c.robots.sitemaps(ctx, c.start); len(maps) > 0 {
			urls, _ := c.sitemapURLs(ctx, maps) // a broken sitemap still leaves the links
			for _, u := range urls {
				level = append(level, target{u: u})
			}
		}
	}
	maxDepth = max(maxDepth, 0)
	seen := map[string]bool{}
	taken := 0
	for depth := 0; len(level) > 0 && taken < c.opts.MaxPages; depth++ {
		// One level at a time, in a stable order: the same site gives the
		// same pages under the same limit, sync after sync.
		var batch []target
		for _, t := range level {
			key := t.u.String()
			if seen[key] {
				continue
			}
			if taken >= c.opts.MaxPages {
				break
			}
			seen[key] = true
			if reason := c.refuse(ctx, t.u); reason != "" {
				c.skip(key, reason)
				continue
			}
			taken++
			batch = append(batch, t)
		}
		links, err := c.fetchLevel(ctx, batch, depth < maxDepth, visit)
		if err != nil {
			return c.result(), err
		}
		level = level[:0]
		for _, l := range links {
			level = append(level, target{u: l, depth: depth + 1})
		}
	}
	return c.result(), nil
}

// refuse says why a URL is not crawled, or "".
func (c *crawler) refuse(ctx context.Context, u *url.URL) string {
	if !c.hosts[u.Host] {
		return "on another host (" + u.Host + "); list it with --host to crawl it"
	}
	if !c.matches(u) {
		return "excluded by the include/exclude patterns"
	}
	if !c.robots.allowed(ctx, u) {
		return "disallowed by robots.txt"
	}
	return ""
}

// fetchLevel fetches a level's pages with bounded concurrency and returns
// the links found (when follow), in page order. visit runs in page order too.
func (c *crawler) fetchLevel(ctx context.Context, batch []target, follow bool, visit func(Page) error) ([]*url.URL, error) {
	type out struct {
		page  *Page
		links []*url.URL
	}
	results := make([]chan out, len(batch))
	for i := range results {
		results[i] = make(chan out, 1)
	}
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	next := make(chan int)
	for w := 0; w < c.opts.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for i := range next {
				if !first && !c.pause(cctx, batch[i].u) {
					results[i] <- out{}
					continue
				}
				first = false
				p, links := c.fetchPage(cctx, batch[i].u, follow)
				results[i] <- out{p, links}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range batch {
			select {
			case next <- i:
			case <-cctx.Done():
				for ; i < len(batch); i++ {
					results[i] <- out{}
				}
				return
			}
		}
	}()
	var links []*url.URL
	for i := range batch {
		r := <-results[i]
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("crawl stopped: %w", err)
		}
		if r.page != nil {
			if err := visit(*r.page); err != nil {
				return nil, err
			}
		}
		links = append(links, r.links...)
	}
	return links, nil
}

// pause waits the delay between two requests of a worker; false when ctx ended.
func (c *crawler) pause(ctx context.Context, u *url.URL) bool {
	d := max(c.opts.Delay, min(c.robots.delay(ctx, u), maxCrawlDelay))
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *crawler) skip(u, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res.Skipped = append(c.res.Skipped, Skip{URL: u, Reason: reason})
}

func (c *crawler) count(fn func(*Result)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(&c.res)
}

func (c *crawler) result() Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.res
	r.Gone, r.Kept, r.Skipped = slices.Clone(r.Gone), slices.Clone(r.Kept), slices.Clone(r.Skipped)
	return r
}

// normalize drops the fragment, lower-cases scheme and host, drops the
// default port and gives an empty path "/", so one page has one key.
func normalize(u *url.URL) *url.URL {
	n := *u
	n.Fragment, n.RawFragment = "", ""
	n.Scheme = strings.ToLower(n.Scheme)
	n.Host = strings.ToLower(n.Host)
	if (n.Scheme == "http" && strings.HasSuffix(n.Host, ":80")) || (n.Scheme == "https" && strings.HasSuffix(n.Host, ":443")) {
		n.Host = n.Host[:strings.LastIndexByte(n.Host, ':')]
	}
	if n.Path == "" {
		n.Path = "/"
	}
	n.User = nil
	return &n
}
