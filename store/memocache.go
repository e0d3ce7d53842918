package store

import (
	"slices"
	"sync"
)

// maxMemos bounds the memories kept decoded: a few thousand active
// conversations, each at most the engine's history budget (768 tokens),
// is a few MB.
const maxMemos = 4096

// memoCache keeps each conversation's memory as last decoded, with the
// identity of the record it came from (length and CRC-32C). Conversation
// then decodes a record only when it changed: every turn reads the memory
// once, and decoding its JSON was 2% of the server's CPU under load. The
// record, not the cache, stays the truth: any write changes the record
// and so misses here; a deleted one is not found before the cache is
// asked. The zero value is ready.
type memoCache struct {
	mu sync.Mutex
	m  map[string]Conversation
}

// get returns the memory decoded from the record whose identity is sum,
// with its own copy of the turns (callers may change theirs).
func (c *memoCache) get(key []byte, sum recordSum) (Conversation, bool) {
	c.mu.Lock()
	conv, ok := c.m[string(key)]
	c.mu.Unlock()
	if !ok || conv.stored != sum {
		return Conversation{}, false
	}
	conv.Turns = slices.Clone(conv.Turns)
	return conv, true
}

// put keeps conv (decoded from the record conv.stored names), dropping an
// arbitrary other entry when full.
func (c *memoCache) put(key []byte, conv Conversation) {
	conv.Turns = slices.Clone(conv.Turns)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]Conversation)
	}
	if _, ok := c.m[string(key)]; !ok && len(c.m) >= maxMemos {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[string(key)] = conv
}
