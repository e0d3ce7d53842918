package store

import (
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// Commits counts write transactions that reached the disk: one per update
// or group commit, none for a rolled-back one or a read.
func TestCommitsCountsCommittedWrites(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	c0 := s.Commits()
	if err := s.SetAdminTokenHash("h1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAdminTokenHash("h2"); err != nil {
		t.Fatal(err)
	}
	if got := s.Commits() - c0; got != 2 {
		t.Fatalf("two updates made %d commits, want 2", got)
	}
	boom := errors.New("boom")
	if err := s.update(func(*bolt.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("failing update: %v", err)
	}
	if _, err := s.AdminTokenHash(); err != nil {
		t.Fatal(err)
	}
	if got := s.Commits() - c0; got != 2 {
		t.Fatalf("a rolled-back update and a read changed the count to %d, want 2", got)
	}
	if err := s.batch(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if got := s.Commits() - c0; got != 3 {
		t.Fatalf("a group commit counted %d in all, want 3", got)
	}
}
