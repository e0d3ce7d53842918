package conversation

import (
	"strconv"
	"sync"

	"github.com/chatbot/chatbot/store"
)

// inflightKey is the integration and the platform's message id, as the
// store dedupes: the same id through another integration is another
// message and must not wait for, or answer with, this one.
func inflightKey(ref store.ConvRef, messageID string) string {
	return strconv.FormatUint(ref.ConfigID, 10) + "/" + strconv.FormatUint(ref.WidgetID, 10) + "/" +
		ref.Platform + "\x00" + messageID
}

// inflight tracks platform message ids being handled in this process, so
// a retry that races the first delivery waits for it instead of answering
// again. Its size is bounded by the answers the channels admit.
type inflight struct {
	mu sync.Mutex
	m  map[string]*claim
}

type claim struct {
	key string
	// deferred: the owner stores the incoming message with its reply
	// (Service.Receive), so stored is not closed before the answer; an
	// async retry stores the message itself instead of waiting.
	deferred   bool
	stored     chan struct{} // closed once the incoming message is stored (or on release)
	done       chan struct{} // closed on release
	storedOnce sync.Once
}

func (c *claim) setStored() {
	c.storedOnce.Do(func() { close(c.stored) })
}

// claim returns the claim of key and whether the caller now owns it;
// deferred is the new claim's (see claim.deferred).
func (f *inflight) claim(key string, deferred bool) (*claim, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.m[key]; ok {
		return c, false
	}
	c := &claim{key: key, deferred: deferred, stored: make(chan struct{}), done: make(chan struct{})}
	f.m[key] = c
	return c, true
}

// release ends the owner's claim; nil is a no-op.
func (f *inflight) release(c *claim) {
	if c == nil {
		return
	}
	f.mu.Lock()
	delete(f.m, c.key)
	f.mu.Unlock()
	c.setStored()
	close(c.done)
}
