package crawl

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// matcher is one include/exclude pattern: a URL path where * matches any
// run of characters (slashes too), anchored at both ends.
type matcher struct{ re *regexp.Regexp }

func compilePatterns(field string, patterns []string) ([]matcher, error) {
	var out []matcher
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "*") {
			return nil, fmt.Errorf("%s pattern %q: a URL path starts with / (e.g. /docs/*)", field, p)
		}
		parts := strings.Split(p, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		out = append(out, matcher{re: regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")})
	}
	return out, nil
}

func (c *crawler) matches(u *url.URL) bool {
	p := u.Path
	if len(c.include) > 0 {
		ok := false
		for _, m := range c.include {
			if m.re.MatchString(p) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, m := range c.exclude {
		if m.re.MatchString(p) {
			return false
		}
	}
	return true
}
