package store

import "sync/atomic"

// commitCounter counts the write transactions that reached the disk, so a
// benchmark can count what a piece of work costs in fsync'd commits instead
// of guessing it (issue 20: "how many commits a delivery costs"). A group
// commit shared by many callers counts once: that is what the disk pays.
type commitCounter struct{ n atomic.Uint64 }

func (c *commitCounter) add() { c.n.Add(1) }

// Commits is the number of write transactions committed since Open.
func (s *Store) Commits() uint64 { return s.commits.n.Load() }
