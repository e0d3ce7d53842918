package tools

import (
	"maps"
	"sync"
	"time"
)

// cache keeps allowed fields of recent responses, for tools with a cache
// time. It is bounded: when full, expired entries go first, then any.
type cache struct {
	mu  sync.Mutex
	max int
	now func() time.Time
	m   map[string]cacheEntry
}

type cacheEntry struct {
	fields  map[string]string
	expires time.Time
}

func newCache(max int, now func() time.Time) *cache {
	return &cache{max: max, now: now, m: map[string]cacheEntry{}}
}

func (c *cache) get(key string) (map[string]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !c.now().Before(e.expires) {
		return nil, false
	}
	return maps.Clone(e.fields), true
}

func (c *cache) put(key string, fields map[string]string, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		now := c.now()
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = cacheEntry{fields: maps.Clone(fields), expires: c.now().Add(ttl)}
}
