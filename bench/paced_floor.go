package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CommitOptions shape the delivery floor: how fast bbolt commits small
// records with the service's sync setting, the bound of any queue kept in it.
type CommitOptions struct {
	Dir string // where the throwaway bbolt file goes
	// Writers is the number of goroutines. One commits one record per
	// transaction (db.Update); more share commits through bbolt's Batch,
	// as the delivery pool's workers share the store's group commit.
	Writers int
	// It stops at the first of Duration and Records (when positive).
	Duration time.Duration
	Records  int
	NoSync   bool // the service's setting: false (fsync every commit)
}

// CommitResult is what the delivery floor measured.
type CommitResult struct {
	Writers int
	Records int
	Commits int // counted by transaction id, not inferred
	Elapsed time.Duration
	Latency Latency // per record: from the call to its commit
}

// CommitsPerSecond is committed transactions per second.
func (c CommitResult) CommitsPerSecond() float64 { return perSecond(c.Commits, c.Elapsed) }

// RecordsPerSecond is records made durable per second.
func (c CommitResult) RecordsPerSecond() float64 { return perSecond(c.Records, c.Elapsed) }

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// deliveryRecord is the size of what a delivery writes: its message's new
// status with the attempt and the webhook id.
var deliveryRecord = []byte(`{"message_id":123456,"config_id":1,"status":"sent","attempts":1,"webhook_id":"msg_0123456789abcdef","status_code":204,"sent_at":"2026-12-06T22:00:00.000000000Z","updated_at":"2026-12-06T22:00:00.000000000Z"}`)

// CommitFloor puts deliveryRecord under sequence keys into a fresh bbolt
// file for o.Duration and counts the records and the commits.
func CommitFloor(ctx context.Context, o CommitOptions) (CommitResult, error) {
	if o.Writers <= 0 || (o.Duration <= 0 && o.Records <= 0) {
		return CommitResult{}, errors.New("delivery floor needs writers and a duration or a record count")
	}
	path := filepath.Join(o.Dir, "commits.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoSync: o.NoSync})
	if err != nil {
		return CommitResult{}, fmt.Errorf("open delivery floor: %w", err)
	}
	defer db.Close()
	// A batch commits as soon as every writer is in it, as the store's group
	// commit does, instead of waiting for bbolt's 10 ms batch timer.
	db.MaxBatchSize = o.Writers
	name := []byte("deliveries")
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(name); return err }); err != nil {
		return CommitResult{}, fmt.Errorf("create the delivery floor's bucket: %w", err)
	}
	write := db.Update
	if o.Writers > 1 {
		write = db.Batch
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	var (
		mu      sync.Mutex
		lastTx  int
		commits int
		next    atomic.Int64
	)
	lats := make([][]time.Duration, o.Writers)
	errs := make([]error, o.Writers)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range o.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if o.Records > 0 && int(next.Add(1)) > o.Records {
					return
				}
				t0 := time.Now()
				err := write(func(tx *bolt.Tx) error {
					b := tx.Bucket(name)
					id, err := b.NextSequence()
					if err != nil {
						return err
					}
					// Functions of one batch run one after another in its
					// transaction: a new id is a new commit.
					mu.Lock()
					if tx.ID() != lastTx {
						lastTx, commits = tx.ID(), commits+1
					}
					mu.Unlock()
					return b.Put(itob(id), deliveryRecord)
				})
				if err != nil {
					errs[w] = err
					return
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	res := CommitResult{Writers: o.Writers, Elapsed: time.Since(start), Commits: commits}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	res.Records = len(all)
	res.Latency = Summarize(all)
	return res, errors.Join(errs...)
}
