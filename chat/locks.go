package chat

import (
	"context"
	"sync"
)

// convLocks serialises the messages of one conversation in arrival order
// (a FIFO lock per key), so answers come out in order and each one sees
// the memory its predecessor wrote. Idle keys take no memory.
type convLocks struct {
	mu sync.Mutex
	m  map[string]*convQueue
}

type convQueue struct {
	waiters []chan struct{} // closed when it is that waiter's turn
}

// lock waits for key's turn; the returned func releases it.
func (l *convLocks) lock(ctx context.Context, key string) (func(), error) {
	release := func() { l.unlock(key) }
	l.mu.Lock()
	q, held := l.m[key]
	if !held {
		l.m[key] = &convQueue{}
		l.mu.Unlock()
		return release, nil
	}
	ch := make(chan struct{})
	q.waiters = append(q.waiters, ch)
	l.mu.Unlock()
	select {
	case <-ch:
		return release, nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	for i, w := range q.waiters {
		if w == ch {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			l.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	l.mu.Unlock()
	release() // our turn came as we gave up: pass it on
	return nil, ctx.Err()
}

func (l *convLocks) unlock(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.m[key]
	if q == nil {
		return
	}
	if len(q.waiters) == 0 {
		delete(l.m, key)
		return
	}
	next := q.waiters[0]
	q.waiters = q.waiters[1:]
	close(next)
}

// waiting is how many messages of key wait behind the one being answered.
func (l *convLocks) waiting(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if q := l.m[key]; q != nil {
		return len(q.waiters)
	}
	return 0
}
