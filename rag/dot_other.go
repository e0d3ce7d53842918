//go:build !amd64 || purego

package rag

// haveInt8Dot is false: without SIMD the int8 pre-filter would be slower
// than the exact float32 scan.
const haveInt8Dot = false

func dotInt8(a, b []int8) int32 { return dotInt8Go(a, b) }
