package rag

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"unsafe"
)

// The snapshot's encoding: little-endian, lengths as uvarints, arrays of
// fixed-size numbers as their memory (so that 2 GB of float32 is one
// read straight into the slice, without a second copy). Only written and
// read on little-endian machines (every one Go ships for but s390x and a
// few MIPS/PPC); elsewhere the index is always rebuilt from the store.

// littleEndian reports whether the machine stores numbers little-endian.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// errSnapshotDamaged means the file does not decode: truncated, or a
// length larger than the file.
var errSnapshotDamaged = errors.New("snapshot damaged")

type snapWriter struct {
	w   *bufio.Writer
	buf [binary.MaxVarintLen64]byte
	// out counts what reached the file, for pos; nil when not needed.
	out *countWriter
	err error // a failure reading what is written (the vectors' file)
}

func (e *snapWriter) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// pos is the file offset of the next byte written.
func (e *snapWriter) pos() int64 {
	if e.out == nil {
		return 0
	}
	return e.out.n + int64(e.w.Buffered())
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (e *snapWriter) uvarint(v uint64) {
	n := binary.PutUvarint(e.buf[:], v)
	e.w.Write(e.buf[:n]) // errors surface at Flush
}

func (e *snapWriter) str(s string) {
	e.uvarint(uint64(len(s)))
	e.w.WriteString(s)
}

func (e *snapWriter) raw(b []byte) {
	e.uvarint(uint64(len(b)))
	e.w.Write(b)
}

// snapReader decodes from r, checking every length against the bytes
// left so that a damaged length fails instead of allocating gigabytes.
type snapReader struct {
	r    *bufio.Reader
	left int64
	err  error
	// src is the file r reads (its first end bytes), for skip; nil when
	// decoding from memory.
	src *os.File
	end int64
}

// pos is the file offset of the next byte read.
func (d *snapReader) pos() int64 { return d.end - d.left }

// skip passes over n bytes without reading them (the vectors left in the
// file); it reads them where there is no file.
func (d *snapReader) skip(n int64) {
	if d.err != nil {
		return
	}
	if n > d.left {
		d.fail(fmt.Errorf("%w: truncated", errSnapshotDamaged))
		return
	}
	if d.src == nil {
		if _, err := d.r.Discard(int(n)); err != nil {
			d.fail(fmt.Errorf("%w: %v", errSnapshotDamaged, err))
			return
		}
	} else {
		at := d.pos() + n
		d.r.Reset(io.NewSectionReader(d.src, at, d.end-at))
	}
	d.left -= n
}

func (d *snapReader) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *snapReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	if b, _ := d.r.Peek(binary.MaxVarintLen64); len(b) > 0 { // the fast path: no call per byte
		if v, n := binary.Uvarint(b); n > 0 {
			d.r.Discard(n)
			d.left -= int64(n)
			if d.left < 0 {
				d.fail(fmt.Errorf("%w: truncated", errSnapshotDamaged))
			}
			return v
		}
	}
	v, err := binary.ReadUvarint(d.r)
	if err != nil {
		d.fail(fmt.Errorf("%w: %v", errSnapshotDamaged, err))
		return 0
	}
	d.left -= int64(uvarintLen(v))
	if d.left < 0 {
		d.fail(fmt.Errorf("%w: truncated", errSnapshotDamaged))
	}
	return v
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

// count reads a number of elements of size bytes each and checks that
// they fit in what is left of the file.
func (d *snapReader) count(size int64) int {
	n := d.uvarint()
	if d.err == nil && (n > math.MaxInt32*8 || int64(n)*size > d.left) {
		d.fail(fmt.Errorf("%w: a length of %d is larger than the file", errSnapshotDamaged, n))
	}
	if d.err != nil {
		return 0
	}
	return int(n)
}

func (d *snapReader) full(b []byte) {
	if d.err != nil || len(b) == 0 {
		return
	}
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.fail(fmt.Errorf("%w: %v", errSnapshotDamaged, err))
		return
	}
	d.left -= int64(len(b))
}

func (d *snapReader) str() string {
	n := d.count(1)
	if n == 0 {
		return ""
	}
	b := make([]byte, n)
	d.full(b)
	return unsafe.String(&b[0], n) // b is not used again: no second copy
}

// uintptrOf is the address of b's first byte.
func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// bytesOf views a slice of fixed-size numbers as its bytes.
func bytesOf[T int8 | uint8 | int32 | uint32 | uint64 | float32 | posting](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*int(unsafe.Sizeof(zero)))
}

func writeSlice[T int8 | int32 | uint32 | uint64 | float32 | posting](e *snapWriter, v []T) {
	e.raw(bytesOf(v))
}

// readMapped is readSlice into an off-heap mapping (mem.go).
func readMapped[T num](d *snapReader) ([]T, mapping) {
	var zero T
	size := int64(unsafe.Sizeof(zero))
	nb := d.count(1)
	if d.err != nil || nb == 0 {
		return nil, mapping{}
	}
	if int64(nb)%size != 0 {
		d.fail(fmt.Errorf("%w: an array of %d bytes", errSnapshotDamaged, nb))
		return nil, mapping{}
	}
	v, m := mapNums[T](int(int64(nb) / size))
	v = v[:cap(v)]
	d.full(bytesOf(v))
	return v, m
}

func readSlice[T int8 | int32 | uint32 | uint64 | float32 | posting](d *snapReader) []T {
	var zero T
	size := int64(unsafe.Sizeof(zero))
	nb := d.count(1)
	if d.err != nil || nb == 0 {
		return nil
	}
	if int64(nb)%size != 0 {
		d.fail(fmt.Errorf("%w: an array of %d bytes", errSnapshotDamaged, nb))
		return nil
	}
	v := make([]T, int64(nb)/size)
	adviseHuge(bytesOf(v))
	d.full(bytesOf(v))
	return v
}
