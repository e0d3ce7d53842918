package rag

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ChunkOptions set the chunk size in characters (runes). The zero value
// means the defaults.
type ChunkOptions struct {
	Size    int // target size, default 1000
	Overlap int // characters repeated from the previous chunk of a section, default 150
}

func (o ChunkOptions) withDefaults() ChunkOptions {
	if o.Size <= 0 {
		o.Size = 1000
	}
	if o.Size < 100 {
		o.Size = 100
	}
	if o.Overlap < 0 {
		o.Overlap = 0
	}
	if o.Overlap == 0 {
		o.Overlap = 150
	}
	if o.Overlap > o.Size/2 {
		o.Overlap = o.Size / 2
	}
	return o
}

// Piece is one chunk of a document before embedding.
type Piece struct {
	Heading string // heading path, "Billing > Refunds"
	Anchor  string // anchor of the innermost heading, "refunds"
	Text    string
}

// Chunk splits a parsed document along its structure: a chunk never spans
// two sections; paragraphs are packed up to the target size; a paragraph
// longer than that is split at sentence ends, and a sentence longer than
// that at spaces. Consecutive chunks of one section share up to Overlap
// characters (whole sentences) so that an answer cut in two is found in
// either half.
func Chunk(p Parsed, opts ChunkOptions) []Piece {
	o := opts.withDefaults()
	var out []Piece
	for _, s := range p.Sections {
		heading := strings.Join(s.Headings, " > ")
		anchor := ""
		if len(s.Headings) > 0 {
			anchor = Anchor(s.Headings[len(s.Headings)-1])
		}
		for _, text := range packSection(s.Paragraphs, o) {
			out = append(out, Piece{Heading: heading, Anchor: anchor, Text: text})
		}
	}
	return out
}

// packSection packs the units (paragraphs, or sentences of long ones) of
// one section into chunks.
func packSection(paras []string, o ChunkOptions) []string {
	var units []unit
	for _, para := range paras {
		if runes(para) <= o.Size {
			units = append(units, unit{text: para, paraStart: true})
			continue
		}
		for i, s := range splitLong(para, o.Size) {
			units = append(units, unit{text: s, paraStart: i == 0})
		}
	}
	var (
		out  []string
		cur  []unit
		size int
	)
	join := func(us []unit) string {
		var sb strings.Builder
		for i, u := range us {
			if i > 0 {
				if u.paraStart {
					sb.WriteString("\n\n")
				} else {
					sb.WriteByte(' ')
				}
			}
			sb.WriteString(u.text)
		}
		return sb.String()
	}
	for _, u := range units {
		n := runes(u.text)
		if len(cur) > 0 && size+n+2 > o.Size {
			out = append(out, join(cur))
			// Carry whole trailing units up to the overlap into the next chunk.
			var keep []unit
			kept := 0
			for i := len(cur) - 1; i >= 0; i-- {
				m := runes(cur[i].text)
				if kept+m > o.Overlap || kept+m+n+2 > o.Size {
					break
				}
				keep = append([]unit{cur[i]}, keep...)
				kept += m + 2
			}
			cur, size = keep, kept
		}
		cur = append(cur, u)
		size += n + 2
	}
	if len(cur) > 0 {
		out = append(out, join(cur))
	}
	return out
}

type unit struct {
	text      string
	paraStart bool
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// splitLong splits a paragraph into sentences, and sentences longer than
// max into pieces at spaces (or anywhere, for text without spaces).
func splitLong(para string, max int) []string {
	var out []string
	for _, s := range Sentences(para) {
		r := []rune(s)
		for len(r) > max {
			cut := max
			for i := max; i > max/2; i-- {
				if unicode.IsSpace(r[i]) {
					cut = i
					break
				}
			}
			if piece := strings.TrimSpace(string(r[:cut])); piece != "" {
				out = append(out, piece)
			}
			r = r[cut:]
			for len(r) > 0 && unicode.IsSpace(r[0]) {
				r = r[1:]
			}
		}
		if rest := strings.TrimSpace(string(r)); rest != "" {
			out = append(out, rest)
		}
	}
	return out
}

// Sentences splits text after '.', '!' or '?' (and their full-width
// forms) followed by white space, and at line breaks between list items.
// Abbreviations such as "e.g." are not treated specially: a cut there
// costs little.
func Sentences(text string) []string {
	var out []string
	r := []rune(text)
	start := 0
	for i := 0; i < len(r); i++ {
		end := false
		switch r[i] {
		case '.', '!', '?', '。', '！', '？':
			end = i+1 == len(r) || unicode.IsSpace(r[i+1]) || r[i] > 127
		case '\n':
			end = listItemAt(r, i+1) || paragraphBreakAt(r, i+1)
		}
		if end {
			if s := strings.TrimSpace(string(r[start : i+1])); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(string(r[start:])); s != "" {
		out = append(out, s)
	}
	return out
}

// paragraphBreakAt reports whether only blanks stand between r[i] and the
// next newline: an empty line ends a sentence (a list's last item and the
// paragraph after it are two).
func paragraphBreakAt(r []rune, i int) bool {
	for i < len(r) && (r[i] == ' ' || r[i] == '\t') {
		i++
	}
	return i < len(r) && r[i] == '\n'
}

// listItemAt reports whether a list item or table row starts at r[i].
func listItemAt(r []rune, i int) bool {
	for i < len(r) && (r[i] == ' ' || r[i] == '\t') {
		i++
	}
	if i >= len(r) {
		return false
	}
	switch {
	case r[i] == '-' || r[i] == '*' || r[i] == '+' || r[i] == '|':
		return true
	case unicode.IsDigit(r[i]):
		for i < len(r) && unicode.IsDigit(r[i]) {
			i++
		}
		return i < len(r) && (r[i] == '.' || r[i] == ')')
	}
	return false
}
