package store

import (
	"encoding/binary"
	"fmt"
	"os"
)

// bbolt's element layouts (version 2): a branch element is pos, ksize (u32)
// and the child's pgid (u64); a leaf element is flags, pos, ksize, vsize
// (u32). pos counts from the element itself. A leaf element flagged as a
// bucket holds the bucket's root pgid and sequence (u64 each), followed by
// the bucket's own page when the root is 0 (an inline bucket).
const (
	boltElemSize     = 16
	boltBucketLeaf   = 0x01
	boltBucketHeader = 16
)

// walkBoltPages checks every page reachable from the root bucket with
// plain reads: each is the branch or leaf page it should be, below the
// high-water mark, referenced once, and its elements, keys and values lie
// inside it. bbolt's own Check runs in a goroutine of its own that cannot
// recover a memory fault, so a key length pointing outside the mapping
// killed the process with a stack trace instead of answering ErrCorrupt;
// after this walk it reads only inside the pages. The file is read once,
// in order, in large blocks (a walk in tree order, page by page, took 41 s
// on a cold 617 MB file); the tree is then followed over what was noted
// of each page. It returns what is wrong, or "".
func walkBoltPages(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	first := make([]byte, 4096)
	n, _ := f.ReadAt(first, 0)
	m, ok := readBoltMeta(first[:n])
	if !ok {
		return "", nil // openBolt's header checks decide about this file
	}
	second := make([]byte, 4096)
	k, _ := f.ReadAt(second, int64(m.pageSize))
	if m1, ok1 := readBoltMeta(second[:k]); ok1 && m1.txid > m.txid {
		m = m1
	}
	pages, err := scanBoltPages(f, m.pageSize, m.pgid)
	if err != nil {
		return "", err
	}
	seen := make([]bool, m.pgid)
	stack := []uint64{m.root}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if id < 2 || id >= m.pgid {
			return fmt.Sprintf("a bucket points to page %d of %d", id, m.pgid), nil
		}
		p := pages[id]
		if p.verdict != "" {
			return p.verdict, nil
		}
		for i := id; i <= id+uint64(p.overflow); i++ {
			if seen[i] {
				return fmt.Sprintf("page %d is referenced twice", i), nil
			}
			seen[i] = true
		}
		stack = append(stack, p.children...)
	}
	return "", nil
}

// pageNote is what scanBoltPages noted of a page, read as if it were a
// bucket page (free pages and overflow are read too and never followed).
type pageNote struct {
	overflow uint32
	children []uint64 // child pages and sub-bucket roots
	verdict  string   // what is wrong with it as a bucket page
}

// scanBoltPages reads pages 2 to hwm-1 in order and notes each.
func scanBoltPages(f *os.File, ps, hwm uint64) ([]pageNote, error) {
	const block = 4 << 20
	per := max(block/ps, 1)
	notes := make([]pageNote, hwm)
	buf := make([]byte, per*ps)
	ne := binary.NativeEndian
	for start := uint64(2); start < hwm; start += per {
		count := min(per, hwm-start)
		chunk := buf[:count*ps]
		if _, err := f.ReadAt(chunk, int64(start*ps)); err != nil {
			return nil, fmt.Errorf("read pages %d-%d: %w", start, start+count-1, err)
		}
		for id := start; id < start+count; id++ {
			page := chunk[(id-start)*ps : (id-start+1)*ps]
			n := &notes[id]
			n.overflow = ne.Uint32(page[12:])
			overflow := uint64(n.overflow)
			switch {
			case ne.Uint64(page) != id:
				n.verdict = fmt.Sprintf("page %d says it is page %d", id, ne.Uint64(page))
				continue
			case id+overflow >= hwm:
				n.verdict = fmt.Sprintf("page %d runs %d pages past the end of the data", id, id+overflow+1-hwm)
				continue
			}
			span := page
			if overflow > 0 {
				if end := id + overflow + 1; end <= start+count {
					span = chunk[(id-start)*ps : (end-start)*ps]
				} else { // runs past this block: read it whole
					span = make([]byte, (1+overflow)*ps)
					if _, err := f.ReadAt(span, int64(id*ps)); err != nil {
						return nil, fmt.Errorf("read page %d: %w", id, err)
					}
				}
			}
			n.children, n.verdict = checkElements(span, fmt.Sprintf("page %d", id), true)
		}
	}
	return notes, nil
}

// checkElements checks the page in buf (a page with its overflow, or an
// inline bucket's page) and returns the pages its elements point to.
// subBuckets is false inside an inline bucket, which bbolt never writes
// with buckets of its own.
func checkElements(buf []byte, name string, subBuckets bool) ([]uint64, string) {
	ne := binary.NativeEndian
	if len(buf) < boltPageHeader {
		return nil, name + " is cut short"
	}
	flags, count := ne.Uint16(buf[8:]), uint64(ne.Uint16(buf[10:]))
	size := uint64(len(buf))
	branch := flags == boltBranchPage
	if !branch && flags != boltLeafPage {
		return nil, fmt.Sprintf("%s is not a bucket page (flags %#x)", name, flags)
	}
	if boltPageHeader+count*boltElemSize > size {
		return nil, fmt.Sprintf("%s lists %d elements, more than it holds", name, count)
	}
	var children []uint64
	for i := uint64(0); i < count; i++ {
		at := boltPageHeader + i*boltElemSize
		e := buf[at : at+boltElemSize]
		if branch {
			pos, ksize := uint64(ne.Uint32(e)), uint64(ne.Uint32(e[4:]))
			if at+pos+ksize > size {
				return nil, fmt.Sprintf("%s: key %d lies outside the page", name, i)
			}
			children = append(children, ne.Uint64(e[8:]))
			continue
		}
		eflags, pos := ne.Uint32(e), uint64(ne.Uint32(e[4:]))
		ksize, vsize := uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
		if at+pos+ksize+vsize > size {
			return nil, fmt.Sprintf("%s: element %d lies outside the page", name, i)
		}
		if eflags&boltBucketLeaf == 0 {
			continue
		}
		if !subBuckets {
			return nil, fmt.Sprintf("%s: an inline bucket holds a bucket", name)
		}
		v := buf[at+pos+ksize : at+pos+ksize+vsize]
		if len(v) < boltBucketHeader {
			return nil, fmt.Sprintf("%s: bucket %d has no header", name, i)
		}
		if root := ne.Uint64(v); root != 0 {
			children = append(children, root)
			continue
		}
		if _, verdict := checkElements(v[boltBucketHeader:], fmt.Sprintf("%s: inline bucket %d", name, i), false); verdict != "" {
			return nil, verdict
		}
	}
	return children, ""
}
