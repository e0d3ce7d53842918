//go:build unix

package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// unlockFile releases bbolt's flock on f. After a panic inside bolt.Open,
// the mapping bbolt leaves behind keeps the open file (and with it the
// lock) alive even once f is closed; without this every later Open in the
// process would report ErrLocked.
func unlockFile(f *os.File) { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN) }
