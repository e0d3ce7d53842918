package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Receiver stands in for a support platform: it accepts outgoing deliveries
// on loopback, counts them once per webhook-id (retries of one delivery
// carry the same id) and remembers when each outgoing message arrived.
type Receiver struct {
	ln     net.Listener
	srv    *http.Server
	status int // answered to every delivery
	now    func() time.Time

	mu       sync.Mutex
	seen     map[string]struct{}
	arrived  map[uint64]time.Time // outgoing message id -> first arrival
	dups     int
	bad      int
	changed  chan struct{} // closed and replaced on every new delivery
	received int
}

// NewReceiver listens on a free loopback port.
func NewReceiver() (*Receiver, error) { return newReceiver(time.Now) }

// newReceiver takes the clock that stamps arrivals (tests inject one).
func newReceiver(now func() time.Time) (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for deliveries: %w", err)
	}
	r := &Receiver{ln: ln, status: http.StatusOK, now: now, seen: map[string]struct{}{},
		arrived: map[uint64]time.Time{}, changed: make(chan struct{})}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// URL is where deliveries are to be sent.
func (r *Receiver) URL() string { return "http://" + r.ln.Addr().String() + "/hook" }

// Close stops the receiver.
func (r *Receiver) Close() error { return r.srv.Close() }

// ServeHTTP records one delivery.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := r.now()
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	var payload struct {
		MessageID uint64 `json:"message_id"`
	}
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.received++
	if err != nil || id == "" || json.Unmarshal(body, &payload) != nil {
		r.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if _, dup := r.seen[id]; dup {
		r.dups++
	} else {
		r.seen[id] = struct{}{}
		if _, ok := r.arrived[payload.MessageID]; !ok {
			r.arrived[payload.MessageID] = now
		}
		close(r.changed)
		r.changed = make(chan struct{})
	}
	w.WriteHeader(r.status)
}

// Unique is the number of distinct deliveries received.
func (r *Receiver) Unique() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// WaitFor returns when n distinct deliveries have arrived, or with ctx's
// error when it ends first.
func (r *Receiver) WaitFor(ctx context.Context, n int) error {
	for {
		r.mu.Lock()
		got, ch := len(r.seen), r.changed
		r.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for deliveries: %d of %d arrived: %w", got, n, ctx.Err())
		case <-ch:
		}
	}
}

// ReceiverStats is what the receiver saw.
type ReceiverStats struct {
	Received   int // requests, with retries and duplicates
	Unique     int // distinct webhook-ids
	Duplicates int // repeated webhook-ids (retries the receiver had already answered)
	Malformed  int // no webhook-id or not JSON
	// Matched is how many of the expected messages arrived; Lag is the time
	// from the moment the load tool got the answer to the delivery's
	// arrival (never negative: a delivery may beat the HTTP answer).
	Matched int
	Lag     Latency
	Last    time.Time // the latest of the matched arrivals
}

// Stats compares the arrivals with expected: outgoing message id -> the
// time the client received the answer naming it.
func (r *Receiver) Stats(expected map[uint64]time.Time) ReceiverStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := ReceiverStats{Received: r.received, Unique: len(r.seen), Duplicates: r.dups, Malformed: r.bad}
	lags := make([]time.Duration, 0, len(expected))
	for id, answered := range expected {
		at, ok := r.arrived[id]
		if !ok {
			continue
		}
		st.Matched++
		lags = append(lags, max(at.Sub(answered), 0))
		if at.After(st.Last) {
			st.Last = at
		}
	}
	st.Lag = Summarize(lags)
	return st
}

// ArrivedBy counts the expected messages whose delivery had arrived at or
// before t: what the receiver had taken by the end of a phase.
func (r *Receiver) ArrivedBy(expected map[uint64]time.Time, t time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for id := range expected {
		if at, ok := r.arrived[id]; ok && !at.After(t) {
			n++
		}
	}
	return n
}
