package platform

import (
	"strings"
	"sync"
	"time"

	"github.com/chatbot/chatbot/conversation"
)

// DefaultBurstWindow is the --burst-window default: users often send a
// question as several short messages, and one reply to them all reads
// better than one reply to each fragment.
const DefaultBurstWindow = 1500 * time.Millisecond

// burstKey is one conversation of one integration.
type burstKey struct {
	config uint64
	conv   string
}

// bursts holds, per conversation, the accepted messages waiting for the
// window to pass with no newer message.
type bursts struct {
	mu      sync.Mutex
	pending map[burstKey]*burst
}

type burst struct {
	msgs []*conversation.Accepted // in arrival order
	gen  uint64                   // bumped by every message; only the newest timer answers
}

// add appends a to its conversation's burst and returns the generation
// whose timer may answer it.
func (b *bursts) add(k burstKey, a *conversation.Accepted) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = map[burstKey]*burst{}
	}
	p := b.pending[k]
	if p == nil {
		p = &burst{}
		b.pending[k] = p
	}
	p.msgs = append(p.msgs, a)
	p.gen++
	return p.gen
}

// take removes and returns the burst of k when gen is still its newest
// message's; nil when a newer message restarted the window.
func (b *bursts) take(k burstKey, gen uint64) []*conversation.Accepted {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.pending[k]
	if p == nil || p.gen != gen {
		return nil
	}
	delete(b.pending, k)
	return p.msgs
}

// joined is the texts of msgs in order, one per line: the question the
// burst asks.
func joined(msgs []*conversation.Accepted) string {
	texts := make([]string, 0, len(msgs))
	for _, a := range msgs {
		if t := strings.TrimSpace(a.Message.Text); t != "" {
			texts = append(texts, t)
		}
	}
	return strings.Join(texts, "\n")
}
