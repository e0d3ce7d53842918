package httpapi

import (
	"sync"
	"time"
)

// Table is the bounded, clocked map of per-client state that every limiter
// of the server keeps: Limiter's token buckets, and policies that are no
// token bucket (the admin login's doubling lockout) on top of it. It is
// safe for concurrent use.
//
// It holds at most maxKeys entries. When a new key finds it full, stale
// entries (those the stale function says hold no information any more)
// go first, then arbitrary ones until a tenth is free: a flood of new
// clients costs one scan per tenth of the table, not one per client.
type Table[K comparable, V any] struct {
	mu      sync.Mutex
	maxKeys int
	now     func() time.Time
	stale   func(v *V, now time.Time) bool
	m       map[K]*V
}

// NewTable returns a Table of at most maxKeys entries (at least 1); now
// is the clock (time.Now when nil); stale says which entries may go first.
func NewTable[K comparable, V any](maxKeys int, now func() time.Time, stale func(v *V, now time.Time) bool) *Table[K, V] {
	if now == nil {
		now = time.Now
	}
	return &Table[K, V]{maxKeys: max(maxKeys, 1), now: now, stale: stale, m: map[K]*V{}}
}

// Update runs f on key's entry, a new zero one when key is missing, under
// the table's lock and with the clock's now; f returns false to drop it.
func (t *Table[K, V]) Update(key K, f func(v *V, now time.Time) (keep bool)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if v, _ := t.entryLocked(key, now); !f(v, now) {
		delete(t.m, key)
	}
}

// View runs f on key's entry if there is one (and reports whether there
// was), under the table's lock; f returns false to drop it.
func (t *Table[K, V]) View(key K, f func(v *V, now time.Time) (keep bool)) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[key]
	if ok && !f(v, t.now()) {
		delete(t.m, key)
	}
	return ok
}

// Delete drops key's entry.
func (t *Table[K, V]) Delete(key K) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, key)
}

// DeleteFunc drops every entry whose key matches.
func (t *Table[K, V]) DeleteFunc(match func(K) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.m {
		if match(k) {
			delete(t.m, k)
		}
	}
}

// Len is the number of entries held.
func (t *Table[K, V]) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// entryLocked returns key's entry, making room for and adding a zero one
// (created true) when key is missing. t.mu must be held.
func (t *Table[K, V]) entryLocked(key K, now time.Time) (v *V, created bool) {
	if v = t.m[key]; v != nil {
		return v, false
	}
	t.makeRoomLocked(1, now)
	v = new(V)
	t.m[key] = v
	return v, true
}

// makeRoomLocked evicts, when n more entries would not fit, stale entries
// and then arbitrary ones, down to nine tenths and to room for n. A caller
// about to add several entries makes room for all first, so adding the
// second cannot evict the first. t.mu must be held.
func (t *Table[K, V]) makeRoomLocked(n int, now time.Time) {
	if len(t.m)+n <= t.maxKeys {
		return
	}
	for k, v := range t.m {
		if t.stale(v, now) {
			delete(t.m, k)
		}
	}
	for k := range t.m { // map order is random: arbitrary ones go
		if len(t.m) < t.maxKeys*9/10 && len(t.m)+n <= t.maxKeys {
			break
		}
		delete(t.m, k)
	}
}
