//go:build amd64 && !purego

package rag

import "golang.org/x/sys/cpu"

// haveInt8Dot reports whether dotInt8 runs in SIMD; without it the int8
// pre-filter is slower than the exact float32 scan, so the scan skips it.
var haveInt8Dot = cpu.X86.HasAVX2

//go:noescape
func dotInt8AVX2(a, b *int8, n int) int32

// dotInt8 is the dot product of two int8 vectors of the same length.
func dotInt8(a, b []int8) int32 {
	b = b[:len(a)]
	n := len(a) &^ 31
	if !haveInt8Dot || n == 0 {
		return dotInt8Go(a, b)
	}
	return dotInt8AVX2(&a[0], &b[0], n) + dotInt8Go(a[n:], b[n:])
}
