package rag

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite golden files")

type goldenDoc struct {
	Title  string  `json:"title"`
	Pieces []Piece `json:"pieces"`
}

// TestChunkGolden parses and chunks each file of testdata/chunk and
// compares with its .golden.json (go test ./rag -run Golden -update).
func TestChunkGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/chunk/*")
	cases := 0
	for _, path := range files {
		if strings.HasSuffix(path, ".golden.json") {
			continue
		}
		cases++
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			format, _, ok := FormatOf(path)
			if !ok {
				t.Fatalf("unsupported %s", path)
			}
			text, _, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			p := Parse(format, path, text)
			got := goldenDoc{Title: p.Title, Pieces: Chunk(p, ChunkOptions{Size: 300, Overlap: 80})}
			golden := path + ".golden.json"
			if *update {
				out, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(golden, append(out, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wb, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			var want goldenDoc
			if err := json.Unmarshal(wb, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				gb, _ := json.MarshalIndent(got, "", "  ")
				t.Fatalf("chunks differ from %s; got:\n%s", golden, gb)
			}
		})
	}
	if cases < 3 {
		t.Fatalf("only %d golden cases", cases)
	}
}

func TestChunkSizeAndOverlap(t *testing.T) {
	b, _ := os.ReadFile("testdata/chunk/long.txt")
	p := Parse(FormatText, "long.txt", string(b))
	for _, o := range []ChunkOptions{{Size: 200, Overlap: 50}, {Size: 500, Overlap: 100}, {Size: 1000}} {
		pieces := Chunk(p, o)
		if len(pieces) < 2 {
			t.Fatalf("%+v: %d pieces", o, len(pieces))
		}
		for i, pc := range pieces {
			if n := utf8.RuneCountInString(pc.Text); n > o.withDefaults().Size {
				t.Errorf("%+v: piece %d has %d characters", o, i, n)
			}
		}
		// Every sentence of the document is in some piece.
		all := strings.Join(func() []string {
			var s []string
			for _, pc := range pieces {
				s = append(s, pc.Text)
			}
			return s
		}(), "\n")
		for _, sec := range p.Sections {
			for _, para := range sec.Paragraphs {
				for _, s := range Sentences(para) {
					if !strings.Contains(all, s) {
						t.Fatalf("%+v: sentence lost: %q", o, s)
					}
				}
			}
		}
	}
}

func TestChunkOverlapRepeatsSentences(t *testing.T) {
	para := "Alpha one two three. Beta four five six. Gamma seven eight nine. Delta ten eleven twelve. Epsilon thirteen fourteen."
	pieces := Chunk(Parsed{Sections: []Section{{Paragraphs: []string{para}}}}, ChunkOptions{Size: 100, Overlap: 45})
	want := []string{
		"Alpha one two three. Beta four five six. Gamma seven eight nine. Delta ten eleven twelve.",
		"Delta ten eleven twelve. Epsilon thirteen fourteen.", // the overlap: one whole sentence of <= 45 characters
	}
	var got []string
	for _, p := range pieces {
		got = append(got, p.Text)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pieces = %q\nwant %q", got, want)
	}
}

func TestChunkHugeWordWithoutSpaces(t *testing.T) {
	long := strings.Repeat("x", 2500)
	pieces := Chunk(Parsed{Sections: []Section{{Paragraphs: []string{long}}}}, ChunkOptions{Size: 1000})
	if len(pieces) != 3 || len(pieces[0].Text) != 1000 || len(pieces[2].Text) != 500 {
		t.Fatalf("pieces of %d bytes: %d", len(long), len(pieces))
	}
}

func TestSentences(t *testing.T) {
	got := Sentences("Hello there. How are you?\nFine!  Next line\n- item one\n- item two 3.5 kg")
	want := []string{"Hello there.", "How are you?", "Fine!", "Next line", "- item one", "- item two 3.5 kg"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Sentences = %q", got)
	}
}

func TestAnchor(t *testing.T) {
	for in, want := range map[string]string{
		"Refunds":              "refunds",
		"Tracking & returns":   "tracking--returns",
		"  Über uns (v2.0)!  ": "über-uns-v20",
		"snake_case-Heading":   "snake_case-heading",
	} {
		if got := Anchor(in); got != want {
			t.Errorf("Anchor(%q) = %q, want %q", in, got, want)
		}
	}
}
