package rag

import "unsafe"

// The index's big arrays (the float32 vectors, their int8 copies, the
// IVF's rows: 3 GB at a million 512-dimension chunks) live in anonymous
// memory mappings outside the Go heap. They hold numbers only, so the
// collector need not see them; what it would otherwise do is count them
// in the live heap, let the heap grow to twice that before collecting
// (GOGC 100) and so double the peak memory of a large index (8.75 GB
// against 4.45 GB idle at a million chunks). A mapping is released
// explicitly when its array is replaced (growth, a new IVF) and at
// Index.Close; nothing on the Go heap keeps a pointer into one past that
// (searches hold the read lock, which both of those wait for).
//
// The slots' strings loaded from a snapshot are one such arena too
// (Index.textMem): what leaves the index is copied (a search's passages),
// and the languages are separate small strings.

// num is what an off-heap array may hold: plain numbers, no pointers.
type num interface{ int8 | uint8 | int32 | float32 }

// mapping is one off-heap allocation; the zero value is none (a small
// array, or a platform without mmap, uses the Go heap and releases
// nothing).
type mapping struct{ b []byte }

// release unmaps m; its arrays must not be used after.
func (m *mapping) release() {
	if m.b != nil {
		unmapBytes(m.b)
		m.b = nil
	}
}

// size is the bytes mapped.
func (m mapping) size() int { return len(m.b) }

// minMapped is the smallest array worth a mapping of its own: below it
// the Go heap is as good and a test's thousands of small indexes do not
// each hold a mapping.
const minMapped = 1 << 20

// mapNums returns an empty array with room for capacity elements and the
// mapping that holds it.
func mapNums[T num](capacity int) ([]T, mapping) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if capacity*size < minMapped {
		return make([]T, 0, capacity), mapping{}
	}
	b := mapBytes(capacity * size)
	if b == nil {
		return make([]T, 0, capacity), mapping{}
	}
	adviseHuge(b)
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), capacity)[:0], mapping{b}
}

// extendMapped returns s grown by n elements (their contents unspecified:
// the caller writes them), moving it to a new mapping twice as large when
// it is full and releasing the old one.
func extendMapped[T num](s []T, m *mapping, n int) []T {
	if len(s)+n > cap(s) {
		ns, nm := mapNums[T](max(2*cap(s), len(s)+n, 4096))
		ns = append(ns, s...)
		m.release()
		*m, s = nm, ns
	}
	return s[:len(s)+n]
}
