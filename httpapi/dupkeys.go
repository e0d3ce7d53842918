package httpapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// duplicateKey returns the path of the first key that appears twice in one
// object of the JSON value at the start of body ("message",
// "metadata.channel", "items[2].id") and true, or false when there is none.
// encoding/json keeps the last of duplicate keys without a word, so a
// body could show one value to a proxy or a signature check and another
// to us. Keys that differ only in case count as the same: encoding/json
// fills a struct field from either.
//
// Call it only on a body Decode accepted: the scan trusts that the JSON
// is well formed (nesting already bounded), so it can skip values byte by
// byte instead of tokenising them. json.Decoder.Token did the same job
// at 4x the cost of the decoding itself (189 allocations for the incoming
// webhook body); this scan allocates only for the frames.
func duplicateKey(body []byte) (string, bool) {
	var frames [8]keyFrame // typical bodies nest less: no allocation
	stack := frames[:0]
	for i := 0; i < len(body); i++ {
		var top *keyFrame
		if n := len(stack); n > 0 {
			top = &stack[n-1]
		}
		switch c := body[i]; c {
		case ' ', '\t', '\r', '\n', ':':
		case ',':
			if top != nil && top.object {
				top.wantKey = true
			}
		case '{', '[':
			top.valueStart()
			stack = append(stack, keyFrame{object: c == '{', wantKey: c == '{', index: -1})
		case '}', ']':
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return "", false
			}
		case '"':
			end := stringEnd(body, i)
			if top == nil || !top.object || !top.wantKey {
				top.valueStart()
				i = end
				continue
			}
			key := unquoteKey(body[i : end+1])
			if top.seen(key) {
				return keyPath(stack[:len(stack)-1], string(key)), true
			}
			top.key, top.wantKey = key, false
			i = end
		default: // a number, true, false or null: skip to its end
			top.valueStart()
			for i+1 < len(body) && !endsScalar(body[i+1]) {
				i++
			}
		}
		if len(stack) == 0 { // a scalar at the top: nothing to check
			return "", false
		}
	}
	return "", false
}

func endsScalar(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// stringEnd is the index of the quote that closes the string opening at i.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return len(b) - 1
}

// unquoteKey returns a quoted key's text: the bytes inside the quotes, or,
// when it has escapes or invalid UTF-8, what encoding/json decodes it to.
func unquoteKey(quoted []byte) []byte {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner
	}
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return inner
	}
	return []byte(s)
}

// keyFrame is one open object or array of the scan.
type keyFrame struct {
	object  bool
	wantKey bool                // object: the next string is a key
	key     []byte              // object: the key of the value being read
	index   int                 // array: the index of the value being read
	keys    [smallObject][]byte // the first keys, compared one by one
	nkeys   int
	set     map[string]struct{} // folded keys, once there are more
}

// smallObject is how many keys are compared one by one before a map is
// worth it (so a body of many thousand keys stays linear).
const smallObject = 16

func (f *keyFrame) valueStart() {
	if f != nil && !f.object {
		f.index++
	}
}

func (f *keyFrame) seen(key []byte) bool {
	if f.set != nil {
		k := foldKey(key)
		if _, ok := f.set[k]; ok {
			return true
		}
		f.set[k] = struct{}{}
		return false
	}
	for _, s := range f.keys[:f.nkeys] {
		if bytes.EqualFold(s, key) {
			return true
		}
	}
	if f.nkeys < smallObject {
		f.keys[f.nkeys] = key
		f.nkeys++
		return false
	}
	f.set = make(map[string]struct{}, 4*smallObject)
	for _, s := range f.keys {
		f.set[foldKey(s)] = struct{}{}
	}
	f.set[foldKey(key)] = struct{}{}
	return false
}

// foldKey maps every rune to the smallest of its case-folding orbit, so
// two keys fold alike exactly when bytes.EqualFold calls them equal.
func foldKey(b []byte) string {
	var out strings.Builder
	out.Grow(len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		out.WriteRune(least)
	}
	return out.String()
}

// keyPath names key inside the values the frames are reading.
func keyPath(frames []keyFrame, key string) string {
	var b strings.Builder
	for _, f := range frames {
		if f.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.Write(f.key)
		} else {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.index))
			b.WriteByte(']')
		}
	}
	if b.Len() > 0 {
		b.WriteByte('.')
	}
	b.WriteString(key)
	return b.String()
}
