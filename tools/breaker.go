package tools

import (
	"sync"
	"time"
)

// A tool's breaker opens after breakerFailures failures in a row and lets
// one call through after breakerRest: a down API costs each user one
// apology, not a timeout each.
const (
	breakerFailures = 5
	breakerRest     = 30 * time.Second
)

type breakers struct {
	mu  sync.Mutex
	m   map[string]*breaker
	now func() time.Time
}

func (bs *breakers) get(tool string) *breaker {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.m[tool]
	if b == nil {
		b = &breaker{now: bs.now}
		bs.m[tool] = b
	}
	return b
}

type breaker struct {
	mu        sync.Mutex
	now       func() time.Time
	failures  int
	openUntil time.Time
	probing   bool
}

// allow reports whether a call may go; after the rest, one probe goes.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < breakerFailures {
		return true
	}
	if b.probing || b.now().Before(b.openUntil) {
		return false
	}
	b.probing = true
	return true
}

func (b *breaker) done(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if ok {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= breakerFailures {
		b.openUntil = b.now().Add(breakerRest)
	}
}
