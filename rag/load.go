package rag

import (
	"bytes"
	"errors"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Section is a run of paragraphs under one heading path.
type Section struct {
	Headings   []string // outermost first; empty before the first heading
	Paragraphs []string
}

// Parsed is a loaded document: its title and its sections in order.
type Parsed struct {
	Title    string
	Sections []Section
	// URL is the document's public address from its front matter
	// ("url: https://help.example.com/refunds" in a Markdown file), checked
	// by PublicURL; "" when there is none or it is not an http(s) URL.
	URL string
}

// Format is a supported document format, chosen by file extension.
type Format string

// Supported formats.
const (
	FormatMarkdown Format = "markdown"
	FormatText     Format = "text"
	FormatHTML     Format = "html"
)

// formats maps the file extensions ingest and upload read to their format:
// the one list both use.
var formats = map[string]Format{
	".md": FormatMarkdown, ".markdown": FormatMarkdown, ".mdown": FormatMarkdown, ".mkd": FormatMarkdown,
	".txt": FormatText, ".text": FormatText,
	".html": FormatHTML, ".htm": FormatHTML, ".xhtml": FormatHTML,
}

// Extensions lists the file extensions the knowledge base reads, sorted.
func Extensions() []string {
	out := make([]string, 0, len(formats))
	for ext := range formats {
		out = append(out, ext)
	}
	sort.Strings(out)
	return out
}

// FormatOf returns the format for a file name, and false for unsupported
// types (with a reason). A name without an extension is unsupported: in a
// folder that is a LICENSE, a key or a database as often as a text; such a
// file is read only when named explicitly (formatOfNamed).
func FormatOf(name string) (Format, string, bool) {
	ext := strings.ToLower(filepath.Ext(name))
	if f, ok := formats[ext]; ok {
		return f, "", true
	}
	switch ext {
	case "":
		return "", "no file extension (name the file itself to ingest it as text)", false
	case ".pdf":
		return "", "PDF is not supported (no maintained pure-Go text extractor); convert it to text first, e.g. pdftotext", false
	default:
		return "", "unsupported file type " + ext, false
	}
}

// formatOfNamed is FormatOf for a file named explicitly (an ingest
// argument, a document read again): without an extension it is text.
func formatOfNamed(name string) (Format, string, bool) {
	if filepath.Ext(name) == "" {
		return FormatText, "", true
	}
	return FormatOf(name)
}

// ErrBinary means the content looks like a binary file, not text.
var ErrBinary = errors.New("binary content")

// Decode turns raw file bytes into text: NUL bytes mean binary (an error);
// a byte-order mark is dropped; content that is not valid UTF-8 is read as
// Windows-1252/Latin-1 (the usual legacy encoding of such files), reported
// by latin1 = true.
func Decode(b []byte) (text string, latin1 bool, err error) {
	head := b
	if len(head) > 8192 {
		head = head[:8192]
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return "", false, ErrBinary
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if utf8.Valid(b) {
		return string(b), false, nil
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/8)
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String(), true, nil
}

// Parse splits text of the given format into a title and sections. name
// (the file name) is the title when the document has no heading.
func Parse(format Format, name, text string) Parsed {
	var p Parsed
	switch format {
	case FormatMarkdown:
		p = parseMarkdown(text)
	case FormatHTML:
		p = parseHTML(text)
	default:
		p = parsePlain(text)
	}
	if p.Title == "" {
		p.Title = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	}
	return p
}

var (
	atxHeading  = regexp.MustCompile(`^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$`)
	fenceOpen   = regexp.MustCompile("^ {0,3}(```+|~~~+)")
	setextUnder = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
)

func parseMarkdown(text string) Parsed {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	meta, lines := frontMatter(lines)
	var (
		p     Parsed
		stack []string // heading at each level 1..6 (index level-1)
		cur   = Section{}
		para  []string
		fence string
	)
	flushPara := func() {
		if t := strings.TrimSpace(strings.Join(para, "\n")); t != "" {
			cur.Paragraphs = append(cur.Paragraphs, t)
		}
		para = para[:0]
	}
	startSection := func(level int, title string) {
		flushPara()
		if len(cur.Paragraphs) > 0 {
			p.Sections = append(p.Sections, cur)
		}
		if level == 1 && p.Title == "" {
			p.Title = title
		}
		for len(stack) < level {
			stack = append(stack, "")
		}
		stack = append(stack[:level-1], title)
		var hs []string
		for _, h := range stack {
			if h != "" {
				hs = append(hs, h)
			}
		}
		cur = Section{Headings: hs}
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if fence != "" {
			para = append(para, line)
			if strings.HasPrefix(strings.TrimSpace(line), fence) {
				fence = ""
				flushPara()
			}
			continue
		}
		if m := fenceOpen.FindStringSubmatch(line); m != nil {
			flushPara()
			fence = m[1]
			para = append(para, line)
			continue
		}
		if m := atxHeading.FindStringSubmatch(line); m != nil {
			startSection(len(m[1]), cleanInline(m[2]))
			continue
		}
		if strings.TrimSpace(line) != "" && len(para) == 0 && i+1 < len(lines) && setextUnder.MatchString(lines[i+1]) &&
			!strings.HasPrefix(strings.TrimSpace(line), "-") {
			level := 2
			if strings.HasPrefix(strings.TrimSpace(lines[i+1]), "=") {
				level = 1
			}
			startSection(level, cleanInline(line))
			i++
			continue
		}
		if strings.TrimSpace(line) == "" {
			flushPara()
			continue
		}
		para = append(para, line)
	}
	flushPara()
	if len(cur.Paragraphs) > 0 {
		p.Sections = append(p.Sections, cur)
	}
	if u, err := PublicURL(meta["url"]); err == nil {
		p.URL = u
	}
	return p
}

var blankLine = regexp.MustCompile(`\n[ \t]*\n`)

var inlineMarkup = regexp.MustCompile("[*_`]+")

// cleanInline strips emphasis and code markers and link targets from a
// heading: "**Refunds** [policy](x.md)" -> "Refunds policy".
func cleanInline(s string) string {
	s = mdLink.ReplaceAllString(s, "$1")
	s = inlineMarkup.ReplaceAllString(s, "")
	return strings.TrimSpace(s)
}

var mdLink = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)

func parsePlain(text string) Parsed {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	sec := Section{}
	for _, para := range blankLine.Split(text, -1) {
		if t := strings.TrimSpace(para); t != "" {
			sec.Paragraphs = append(sec.Paragraphs, t)
		}
	}
	var p Parsed
	if len(sec.Paragraphs) > 0 {
		p.Sections = []Section{sec}
		// A first line standing alone like a heading ("Warranty", then a
		// blank line) is the document's title: citations show it instead
		// of the file name. It stays in the text; answers never quote it.
		if isTitleParagraph(sec.Paragraphs[0], text) {
			p.Title = sec.Paragraphs[0]
		}
	}
	return p
}

// parseHTML walks the tree: h1-h6 start sections, block elements end
// paragraphs, script/style/nav/header/footer and comments are dropped.
func parseHTML(text string) Parsed {
	root, err := html.Parse(strings.NewReader(text))
	if err != nil { // html.Parse only fails on reader errors
		return parsePlain(text)
	}
	var (
		p        Parsed
		docTitle string
		stack    []string
		cur      Section
		buf      strings.Builder
	)
	flush := func() {
		if t := collapseSpace(buf.String()); t != "" {
			cur.Paragraphs = append(cur.Paragraphs, t)
		}
		buf.Reset()
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "style", "noscript", "template", "nav", "footer", "svg", "iframe", "head":
				if n.Data == "head" {
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						if c.Type == html.ElementNode && c.Data == "title" {
							docTitle = collapseSpace(textOf(c))
						}
					}
				}
				return
			case "h1", "h2", "h3", "h4", "h5", "h6":
				flush()
				if len(cur.Paragraphs) > 0 {
					p.Sections = append(p.Sections, cur)
				}
				level := int(n.Data[1] - '0')
				title := collapseSpace(textOf(n))
				if level == 1 && p.Title == "" {
					p.Title = title
				}
				for len(stack) < level {
					stack = append(stack, "")
				}
				stack = append(stack[:level-1], title)
				var hs []string
				for _, h := range stack {
					if h != "" {
						hs = append(hs, h)
					}
				}
				cur = Section{Headings: hs}
				return
			case "br":
				buf.WriteByte('\n')
			}
		}
		if n.Type == html.TextNode {
			buf.WriteString(n.Data)
		}
		block := n.Type == html.ElementNode && blockElements[n.Data]
		if block {
			flush()
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if block {
			flush()
		}
	}
	walk(root)
	flush()
	if len(cur.Paragraphs) > 0 {
		p.Sections = append(p.Sections, cur)
	}
	if p.Title == "" {
		p.Title = docTitle
	}
	return p
}

var blockElements = map[string]bool{
	"p": true, "div": true, "li": true, "ul": true, "ol": true, "table": true, "tr": true,
	"pre": true, "blockquote": true, "section": true, "article": true, "main": true,
	"dd": true, "dt": true, "dl": true, "td": true, "th": true, "body": true, "header": true, "aside": true,
}

func textOf(n *html.Node) string {
	var sb strings.Builder
	var f func(*html.Node)
	f = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
			sb.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			f(c)
		}
	}
	f(n)
	return sb.String()
}

func collapseSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// Anchor is the GitHub-style anchor of a heading: lower case, letters,
// digits, '-' and '_' kept, spaces to '-', the rest dropped.
func Anchor(heading string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			sb.WriteRune(r)
		case r == ' ':
			sb.WriteByte('-')
		}
	}
	return sb.String()
}
