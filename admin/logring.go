package admin

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// DefaultLogRingSize is how many recent warnings and errors the panel keeps.
const DefaultLogRingSize = 500

// maxLogValue caps each recorded attribute value (bytes).
const maxLogValue = 1024

// LogRecord is one remembered warning or error.
type LogRecord struct {
	Time    time.Time         `json:"time"`
	Level   string            `json:"level"`
	Message string            `json:"message"`
	Attrs   map[string]string `json:"attrs,omitempty"`
}

// LogRing keeps the most recent warn-and-above log records in memory, a
// fixed number of them, for the panel's Logs section.
type LogRing struct {
	mu   sync.Mutex
	buf  []LogRecord
	next int
	full bool
}

// NewLogRing returns a ring holding at most size records.
func NewLogRing(size int) *LogRing {
	return &LogRing{buf: make([]LogRecord, max(size, 1))}
}

// Handler wraps inner: every record still goes to inner as before, and
// warnings and errors are also remembered in the ring (whatever inner's
// level, so the panel sees problems even with --log-level error).
func (lr *LogRing) Handler(inner slog.Handler) slog.Handler {
	return &ringHandler{ring: lr, inner: inner}
}

func (lr *LogRing) add(rec LogRecord) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.buf[lr.next] = rec
	lr.next = (lr.next + 1) % len(lr.buf)
	if lr.next == 0 {
		lr.full = true
	}
}

// Records returns up to limit records (0: all) at or above level whose
// message or attributes contain query (case-insensitive), newest first.
func (lr *LogRing) Records(level slog.Level, query string, limit int) []LogRecord {
	query = strings.ToLower(query)
	lr.mu.Lock()
	defer lr.mu.Unlock()
	n := lr.next
	if lr.full {
		n = len(lr.buf)
	}
	out := []LogRecord{}
	for i := 0; i < n; i++ {
		rec := lr.buf[(lr.next-1-i+len(lr.buf))%len(lr.buf)]
		var l slog.Level
		_ = l.UnmarshalText([]byte(rec.Level))
		if l < level || (query != "" && !rec.matches(query)) {
			continue
		}
		out = append(out, rec)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

func (rec LogRecord) matches(q string) bool {
	if strings.Contains(strings.ToLower(rec.Message), q) {
		return true
	}
	for k, v := range rec.Attrs {
		if strings.Contains(strings.ToLower(k), q) || strings.Contains(strings.ToLower(v), q) {
			return true
		}
	}
	return false
}

type ringHandler struct {
	ring   *LogRing
	inner  slog.Handler
	attrs  []slog.Attr // resolved, keys already prefixed with their groups
	prefix string      // open groups, "a.b."
}

func (h *ringHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.inner.Enabled(ctx, l)
}

func (h *ringHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		rec := LogRecord{Time: r.Time, Level: r.Level.String(), Message: r.Message, Attrs: map[string]string{}}
		for _, a := range h.attrs {
			addAttr(rec.Attrs, "", a)
		}
		r.Attrs(func(a slog.Attr) bool {
			addAttr(rec.Attrs, h.prefix, a)
			return true
		})
		h.ring.add(rec)
	}
	if h.inner.Enabled(ctx, r.Level) {
		return h.inner.Handle(ctx, r)
	}
	return nil
}

func (h *ringHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(as)
	c.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range as {
		a.Key = h.prefix + a.Key
		c.attrs = append(c.attrs, a)
	}
	return &c
}

func (h *ringHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.inner = h.inner.WithGroup(name)
	c.prefix = h.prefix + name + "."
	return &c
}

// addAttr flattens a into m, groups as dotted keys. Keys that look like
// secrets are redacted even though callers should never log them.
func addAttr(m map[string]string, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			addAttr(m, p, g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	key := prefix + a.Key
	s := v.String()
	if secretKey(key) {
		s = "[redacted]"
	}
	if len(s) > maxLogValue {
		s = strings.ToValidUTF8(s[:maxLogValue], "") + "…"
	}
	m[key] = s
}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"token", "secret", "password", "authorization", "cookie"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}
