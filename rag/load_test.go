package rag

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	for _, c := range []struct {
		in     string
		want   string
		latin1 bool
		err    error
	}{
		{"plain", "plain", false, nil},
		{"\xef\xbb\xbfwith BOM", "with BOM", false, nil},
		{"caf\xe9", "café", true, nil},
		{"a\x00b", "", false, ErrBinary},
		{"", "", false, nil},
	} {
		got, latin1, err := Decode([]byte(c.in))
		if got != c.want || latin1 != c.latin1 || !errors.Is(err, c.err) {
			t.Errorf("Decode(%q) = %q, %v, %v", c.in, got, latin1, err)
		}
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]Format{"a.md": FormatMarkdown, "B.MARKDOWN": FormatMarkdown, "c.txt": FormatText,
		"d.html": FormatHTML, "e.htm": FormatHTML} {
		if got, _, ok := FormatOf(name); !ok || got != want {
			t.Errorf("FormatOf(%q) = %q, %v", name, got, ok)
		}
	}
	// A name without an extension (README, secret.key's cousins such as
	// id_rsa, a database) is text only when named explicitly; issue 13.
	for _, name := range []string{"a.png", "b.pdf", "c.docx", "d.exe", "README", "id_rsa"} {
		if _, reason, ok := FormatOf(name); ok || reason == "" {
			t.Errorf("FormatOf(%q) accepted", name)
		}
	}
	if f, _, ok := formatOfNamed("/docs/README"); !ok || f != FormatText {
		t.Errorf("formatOfNamed(README) = %q, %v", f, ok)
	}
	if _, _, ok := formatOfNamed("/docs/x.png"); ok {
		t.Errorf("formatOfNamed(x.png) accepted")
	}
}

func TestParseTitles(t *testing.T) {
	if p := Parse(FormatText, "/x/faq-notes.txt", "Notes from the call.\n\nb"); p.Title != "faq-notes" || len(p.Sections[0].Paragraphs) != 2 {
		t.Errorf("text: %+v", p)
	}
	// A first line standing alone like a heading is a text's title (and
	// stays in its text); one alone, or a sentence, is not.
	if p := Parse(FormatText, "/x/warranty.txt", "Warranty\n\nEvery kettle has a two-year warranty."); p.Title != "Warranty" || len(p.Sections[0].Paragraphs) != 2 {
		t.Errorf("text with a title line: %+v", p)
	}
	for _, text := range []string{"Warranty", "Call us on 030 1234\n\nor write.", "Warranty\nEvery kettle has a two-year warranty."} {
		if p := Parse(FormatText, "/x/warranty.txt", text); p.Title != "warranty" {
			t.Errorf("text %q: title %q, want the file name", text, p.Title)
		}
	}
	if p := Parse(FormatHTML, "x.html", "<title>Doc title</title><p>body</p>"); p.Title != "Doc title" {
		t.Errorf("html <title>: %+v", p)
	}
	if p := Parse(FormatMarkdown, "x.md", "## Only h2\n\ntext"); p.Title != "x" || !reflect.DeepEqual(p.Sections[0].Headings, []string{"Only h2"}) {
		t.Errorf("markdown without h1: %+v", p)
	}
	p := Parse(FormatMarkdown, "x.md", "# T\n\n### Deep\n\nd\n\n## **Bold** [link](u)\n\ne")
	if !reflect.DeepEqual(p.Sections[0].Headings, []string{"T", "Deep"}) || !reflect.DeepEqual(p.Sections[1].Headings, []string{"T", "Bold link"}) {
		t.Errorf("heading paths: %+v", p.Sections)
	}
}

func TestParseUnclosedFence(t *testing.T) {
	p := Parse(FormatMarkdown, "x.md", "# T\n\n```\n# not heading\ncode")
	if len(p.Sections) != 1 || !strings.Contains(p.Sections[0].Paragraphs[0], "# not heading") {
		t.Fatalf("%+v", p)
	}
}

// FuzzParse: no input panics the parsers or the chunker, and every chunk
// respects the size limit. Seeds in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add("# T\n\n## A\n\ntext. more text.\n\n```\ncode\n")
	f.Add("<h1>x</h1><p>y<br>z</p><script>q</script>")
	f.Add("---\nfront: matter\n---\nSetext\n===\n\n- a\n- b")
	f.Fuzz(func(t *testing.T, in string) {
		text, _, err := Decode([]byte(in))
		if err != nil {
			return
		}
		for _, format := range []Format{FormatMarkdown, FormatHTML, FormatText} {
			for _, pc := range Chunk(Parse(format, "f.md", text), ChunkOptions{Size: 120, Overlap: 30}) {
				if n := len([]rune(pc.Text)); n > 120 {
					t.Fatalf("%s: chunk of %d runes", format, n)
				}
				if strings.TrimSpace(pc.Text) == "" {
					t.Fatalf("%s: empty chunk", format)
				}
			}
		}
	})
}
