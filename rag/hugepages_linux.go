//go:build linux

package rag

import (
	"os"

	"golang.org/x/sys/unix"
)

// adviseHuge asks the kernel to back b with transparent huge pages before
// it is first written. Loading a million chunks fills 3.7 GB of new
// memory; on this VM each 4 KB page fault cost about 6 µs of system time
// (1.9 million faults, 12 s of a 14 s start-up). With 2 MB pages there are
// 512 times fewer. Advice only: where THP is off it does nothing.
func adviseHuge(b []byte) {
	const huge = 2 << 20
	if len(b) < 2*huge {
		return
	}
	page := uintptr(os.Getpagesize())
	start := uintptr(0)
	if off := uintptrOf(b) % page; off != 0 {
		start = page - off
	}
	end := uintptr(len(b)) - (uintptrOf(b)+uintptr(len(b)))%page
	if end > start {
		_ = unix.Madvise(b[start:end], unix.MADV_HUGEPAGE)
	}
}
