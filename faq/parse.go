package faq

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/store"
)

// MaxFileBytes bounds a file ParseFile reads.
const MaxFileBytes = 16 << 20

// ParseFile reads curated answers from a file by its extension: .csv (a
// header row naming the columns question and answer, and optionally
// alternatives, separated by "|") or .md/.markdown (each "## " heading a
// question, the text under it its answer). Every pair is checked as the
// store would check it, and errors name the line.
func ParseFile(name string, data []byte) ([]Pair, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return ParseCSV(data)
	case ".md", ".markdown":
		return ParseMarkdown(data)
	}
	return nil, fmt.Errorf("%s: curated answers are read from .csv (columns question,answer) or .md files (## question, then the answer)", name)
}

// prepare checks the file as a whole: size, encoding, byte-order mark.
func prepare(data []byte) ([]byte, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("file is %d bytes; the limit is %d (split it)", len(data), MaxFileBytes)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("file is not UTF-8 text; save it as UTF-8")
	}
	return bytes.TrimPrefix(data, []byte("\uFEFF")), nil
}

// collector validates pairs as they are read and refuses a question seen
// twice, naming both lines.
type collector struct {
	pairs []Pair
	lines map[string]int
}

func (c *collector) add(line int, p Pair) error {
	f := store.FAQ{Question: p.Question, Alternatives: p.Alternatives, Answer: p.Answer}
	store.NormaliseFAQ(&f)
	if err := store.ValidateFAQ(f); err != nil {
		msg := err.Error()
		if e, ok := apperr.As(err); ok {
			msg = e.Message
		}
		return fmt.Errorf("line %d: %s", line, msg)
	}
	key := store.FAQKey(f.Question)
	if first, ok := c.lines[key]; ok {
		return fmt.Errorf("line %d: the question of line %d again; keep one of them", line, first)
	}
	if c.lines == nil {
		c.lines = map[string]int{}
	}
	c.lines[key] = line
	if len(f.Alternatives) == 0 {
		f.Alternatives = nil
	}
	c.pairs = append(c.pairs, Pair{Question: f.Question, Alternatives: f.Alternatives, Answer: f.Answer})
	if len(c.pairs) > MaxImport {
		return fmt.Errorf("line %d: more than %d questions; split the file", line, MaxImport)
	}
	return nil
}

func (c *collector) result() ([]Pair, error) {
	if len(c.pairs) == 0 {
		return nil, errors.New("no questions found")
	}
	return c.pairs, nil
}

// ParseCSV reads a CSV file with a header row: question, answer and
// optionally alternatives (several separated by "|"), in any order.
// Blank rows are skipped.
func ParseCSV(data []byte) ([]Pair, error) {
	data, err := prepare(data)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // a short row is reported with its line below
	header, err := r.Read()
	if err == io.EOF {
		return nil, errors.New("file is empty; the first row names the columns: question,answer")
	}
	if err != nil {
		return nil, fmt.Errorf("read the header row: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch name {
		case "question", "answer", "alternatives":
		default:
			return nil, fmt.Errorf("line 1: unknown column %q; the columns are question, answer and (optional) alternatives", h)
		}
		if _, dup := col[name]; dup {
			return nil, fmt.Errorf("line 1: column %q twice", name)
		}
		col[name] = i
	}
	if _, ok := col["question"]; !ok {
		return nil, errors.New("line 1: no question column; the first row names the columns: question,answer")
	}
	if _, ok := col["answer"]; !ok {
		return nil, errors.New("line 1: no answer column; the first row names the columns: question,answer")
	}
	var c collector
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			return nil, fmt.Errorf("line %d: %d fields, the header has %d (quote fields that contain commas)", line, len(rec), len(header))
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue
		}
		p := Pair{Question: rec[col["question"]], Answer: rec[col["answer"]]}
		if i, ok := col["alternatives"]; ok && strings.TrimSpace(rec[i]) != "" {
			p.Alternatives = strings.Split(rec[i], "|")
		}
		if err := c.add(line, p); err != nil {
			return nil, err
		}
	}
	return c.result()
}

// ParseMarkdown reads "## question" headings, each followed by its answer:
// the text up to the next heading of level one or two. Text before the
// first "## " (a title, an introduction) is skipped; "###" and deeper
// headings, lists and fenced code stay in the answer.
func ParseMarkdown(data []byte) ([]Pair, error) {
	data, err := prepare(data)
	if err != nil {
		return nil, err
	}
	var (
		c        collector
		question string
		qLine    int
		answer   []string
		fence    string // the open code fence's marker, if any
	)
	flush := func() error {
		if qLine == 0 {
			return nil
		}
		// Tabs (indented code) become spaces: a stored answer holds no
		// control characters but line breaks.
		return c.add(qLine, Pair{Question: question, Answer: strings.ReplaceAll(strings.Join(answer, "\n"), "\t", "    ")})
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i, ln := range lines {
		trimmed := strings.TrimSpace(ln)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			answer = append(answer, ln)
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			answer = append(answer, ln)
			continue
		}
		level, text := heading(ln)
		if level == 1 || level == 2 {
			if err := flush(); err != nil {
				return nil, err
			}
			question, qLine, answer = "", 0, nil
			if level == 2 {
				question, qLine = text, i+1
			}
			continue
		}
		if qLine != 0 {
			answer = append(answer, ln)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return c.result()
}

// heading returns the level and text of an ATX heading line ("## How?"),
// or 0. Up to three leading spaces are allowed, as in CommonMark, and a
// closing run of "#" is dropped.
func heading(ln string) (int, string) {
	s := strings.TrimLeft(ln, " ")
	if len(ln)-len(s) > 3 {
		return 0, ""
	}
	level := 0
	for level < len(s) && s[level] == '#' {
		level++
	}
	if level == 0 || level > 6 || (level < len(s) && s[level] != ' ' && s[level] != '\t') {
		return 0, ""
	}
	text := strings.TrimSpace(s[level:])
	if t := strings.TrimRight(text, "#"); t != text && (t == "" || strings.HasSuffix(t, " ")) {
		text = strings.TrimSpace(t)
	}
	return level, text
}
