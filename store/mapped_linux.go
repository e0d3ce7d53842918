//go:build linux

package store

import (
	"unsafe"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// releaseMapped tells the kernel that this process no longer needs the
// pages of the database file it has read through bbolt's memory map so
// far. Loading the knowledge base reads every chunk once (the index keeps
// its own copy) and would otherwise keep the whole file resident: 600 MB
// at 100,000 chunks. bbolt maps the file read-only and shared and writes
// through the file, so dropping the mapping's pages loses nothing: a later
// read faults them back in from the page cache. Call it inside a read
// transaction: bbolt cannot remap while one is open, so the range is the
// mapping's. Errors are ignored; the pages just stay resident.
func releaseMapped(db *bolt.DB, tx *bolt.Tx) {
	info := db.Info()
	size := tx.Size()
	if info == nil || size <= 0 {
		return
	}
	// info.Data is the address of the mapping, outside Go's heap.
	base := *(*unsafe.Pointer)(unsafe.Pointer(&info.Data))
	_ = unix.Madvise(unsafe.Slice((*byte)(base), size), unix.MADV_DONTNEED)
}
