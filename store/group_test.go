package store

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func openGroupStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("check: %v", err)
		}
		s.Close()
	})
	return s
}

// holdLeader starts a batch call that blocks inside its transaction until
// release is closed, and waits until it holds the lead.
func holdLeader(t *testing.T, s *Store) (release chan struct{}, done chan error) {
	t.Helper()
	release, done = make(chan struct{}), make(chan error, 1)
	inside := make(chan struct{})
	go func() {
		done <- s.batch(func(tx *bolt.Tx) error {
			close(inside)
			<-release
			return tx.Bucket(bucketMeta).Put([]byte("leader"), []byte("1"))
		})
	}()
	<-inside
	return release, done
}

// waitQueued waits until n calls wait behind the leader.
func waitQueued(s *Store, n int) {
	for {
		s.group.mu.Lock()
		got := len(s.group.pending)
		s.group.mu.Unlock()
		if got >= n {
			return
		}
		runtime.Gosched()
	}
}

func TestBatchSharesCommits(t *testing.T) {
	s := openGroupStore(t)
	release, leaderDone := holdLeader(t, s)
	const n = 100
	var mu sync.Mutex
	txs := map[int]int{} // tx id -> functions committed in it
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.batch(func(tx *bolt.Tx) error {
				mu.Lock()
				txs[tx.ID()]++
				mu.Unlock()
				return tx.Bucket(bucketMeta).Put([]byte(fmt.Sprintf("k%03d", i)), []byte("v"))
			})
		}()
	}
	waitQueued(s, n)
	close(release)
	wg.Wait()
	if err := <-leaderDone; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if len(txs) != 1 {
		t.Fatalf("the %d queued calls went into %d transactions, want 1: %v", n, len(txs), txs)
	}
	err := s.view(func(tx *bolt.Tx) error {
		for i := range n {
			if tx.Bucket(bucketMeta).Get([]byte(fmt.Sprintf("k%03d", i))) == nil {
				return fmt.Errorf("k%03d missing", i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBatchIsolatesAFailure(t *testing.T) {
	s := openGroupStore(t)
	release, leaderDone := holdLeader(t, s)
	errBoom := errors.New("boom")
	var runs [3]atomic.Int32
	put := func(i int, key string, fail bool) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			runs[i].Add(1)
			if err := tx.Bucket(bucketMeta).Put([]byte(key), []byte("v")); err != nil {
				return err
			}
			if fail {
				return fmt.Errorf("call %d: %w", i, errBoom)
			}
			return nil
		}
	}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, c := range []struct {
		key  string
		fail bool
	}{{"a", false}, {"b", true}, {"c", false}} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.batch(put(i, c.key, c.fail)) }()
		waitQueued(s, i+1) // keep the queue in this order
	}
	close(release)
	wg.Wait()
	if err := <-leaderDone; err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], errBoom) {
		t.Fatalf("errors %v", errs)
	}
	// a ran in the failed transaction and again; b in it and alone; c after
	// b's failure only.
	if got := [3]int32{runs[0].Load(), runs[1].Load(), runs[2].Load()}; got != [3]int32{2, 2, 1} {
		t.Fatalf("runs %v, want [2 2 1]", got)
	}
	_ = s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if b.Get([]byte("a")) == nil || b.Get([]byte("c")) == nil || b.Get([]byte("b")) != nil || b.Get([]byte("leader")) == nil {
			t.Errorf("a=%q b=%q c=%q leader=%q", b.Get([]byte("a")), b.Get([]byte("b")), b.Get([]byte("c")), b.Get([]byte("leader")))
		}
		return nil
	})
}

func TestBatchAloneRunsOnceAndRecoversPanics(t *testing.T) {
	s := openGroupStore(t)
	runs := 0
	errBoom := errors.New("boom")
	if err := s.batch(func(*bolt.Tx) error { runs++; return errBoom }); !errors.Is(err, errBoom) || runs != 1 {
		t.Fatalf("err %v after %d runs", err, runs)
	}
	if err := s.batch(func(*bolt.Tx) error { panic("bad page") }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("panic: %v", err)
	}
	// The lead was released: the next call commits.
	if err := s.batch(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
}

func TestBatchUnderContention(t *testing.T) {
	s := openGroupStore(t)
	const writers, each = 16, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := s.batch(func(tx *bolt.Tx) error {
					b := tx.Bucket(bucketMeta)
					id, err := b.NextSequence()
					if err != nil {
						return err
					}
					return b.Put([]byte(fmt.Sprintf("w%02d-%02d", w, i)), itob(id))
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := 0
	_ = s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).ForEach(func(k, _ []byte) error {
			if k[0] == 'w' {
				n++
			}
			return nil
		})
	})
	if n != writers*each {
		t.Fatalf("%d keys, want %d", n, writers*each)
	}
}

func BenchmarkWriteParallel(b *testing.B) {
	for _, mode := range []string{"update", "batch"} {
		b.Run(mode, func(b *testing.B) {
			s, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			write := s.update
			if mode == "batch" {
				write = s.batch
			}
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					err := write(func(tx *bolt.Tx) error {
						bk := tx.Bucket(bucketMessages)
						id, _ := bk.NextSequence()
						return bk.Put(itob(id), make([]byte, 400))
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
