//go:build !linux

package rag

// mapBytes returns nil where anonymous mappings are not used: the arrays
// stay on the Go heap.
func mapBytes(int) []byte { return nil }

func unmapBytes([]byte) {}
