//go:build linux

package rag

import "golang.org/x/sys/unix"

// mapBytes maps n bytes of zeroed anonymous memory, or returns nil when
// the kernel refuses (the caller then uses the Go heap).
func mapBytes(n int) []byte {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil
	}
	return b
}

// unmapBytes returns a mapping from mapBytes to the kernel.
func unmapBytes(b []byte) { _ = unix.Munmap(b) }
