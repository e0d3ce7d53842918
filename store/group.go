package store

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Group commit. Every bbolt commit costs two fsyncs (a few milliseconds on
// ordinary disks), so one transaction per request caps the service at a few
// hundred writes per second whatever the CPU does. batch lets concurrent
// writers share a commit: the first caller to arrive commits everything
// queued so far in one transaction, and while it commits the next callers
// queue up for the following one. Nothing waits on a timer: alone, a caller
// commits at once; under load, batches grow by themselves.
//
// Like bbolt's own Batch, fn may run more than once: when another function
// of the same batch fails, the transaction is rolled back and the others run
// again. So fn must only assign (never accumulate into) variables outside
// the transaction, and return the same error on the same data. A function
// that fails is run again alone, so its error is its own.

// maxGroup bounds how many functions share one transaction.
const maxGroup = 256

type groupCall struct {
	fn   func(tx *bolt.Tx) error
	err  error
	wake chan struct{} // closed when err is final
	lead chan struct{} // closed when this caller must commit the next batch
}

type committer struct {
	mu      sync.Mutex
	pending []*groupCall
	leading bool
}

// errRetryBatch rolls a shared transaction back after one function failed.
var errRetryBatch = errors.New("retry the batch without the failed function")

// batch runs fn in a write transaction shared with concurrent callers.
func (s *Store) batch(fn func(tx *bolt.Tx) error) error {
	g := &s.group
	c := &groupCall{fn: fn, wake: make(chan struct{}), lead: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	if g.leading {
		g.mu.Unlock()
		select {
		case <-c.wake:
			return c.err
		case <-c.lead:
			// The previous leader finished and this call is the oldest in the
			// queue: commit the next batch (it includes this call).
		}
		g.mu.Lock()
	}
	g.leading = true
	n := min(len(g.pending), maxGroup)
	calls := append([]*groupCall(nil), g.pending[:n]...)
	g.pending = append(g.pending[:0:0], g.pending[n:]...)
	g.mu.Unlock()

	s.commitGroup(calls)

	g.mu.Lock()
	if len(g.pending) > 0 {
		next := g.pending[0] // still leading: hand over to the oldest waiter
		close(next.lead)
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	return c.err
}

// commitGroup commits calls in one transaction; a failing function is taken
// out and run alone, and the rest run again together.
func (s *Store) commitGroup(calls []*groupCall) {
	for len(calls) > 0 {
		failed := -1
		err := s.update(func(tx *bolt.Tx) error {
			for i, c := range calls {
				if err := c.fn(tx); err != nil {
					if len(calls) == 1 {
						return err // alone: this error is its own
					}
					failed = i
					return errRetryBatch
				}
			}
			return nil
		})
		if failed < 0 {
			for _, c := range calls {
				finish(c, err)
			}
			return
		}
		c := calls[failed]
		finish(c, s.update(c.fn))
		calls = append(calls[:failed:failed], calls[failed+1:]...)
	}
}

func finish(c *groupCall, err error) {
	c.err = err
	close(c.wake)
}
