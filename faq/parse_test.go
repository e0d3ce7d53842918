package faq

import (
	"bytes"
	"encoding/csv"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/store"
)

func TestParseMarkdown(t *testing.T) {
	data, err := os.ReadFile("testdata/shop.md")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseFile("shop.md", data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{
		{Question: "Do you ship to the USA?", Answer: "Not yet: we ship within the EU, the UK and Switzerland."},
		{Question: "How do I reset my password?", Answer: "1. Open **Settings**.\n2. Choose *Security*, then *Reset password*.\n\n### On the app\n\nThe same steps, under the profile icon."},
		{Question: "What does the API key look like?", Answer: "```\n## not a heading: in a code fence\n    key_abc123\n```"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pairs =\n%#v\nwant\n%#v", got, want)
	}
}

func TestParseCSV(t *testing.T) {
	data, err := os.ReadFile("testdata/shop.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseFile("SHOP.CSV", data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{
		{Question: "Can I pay with PayPal?", Alternatives: []string{"paypal accepted?", "pay by paypal"}, Answer: "Yes, and with cards."},
		{Question: "What are your opening hours?", Answer: "9 to 5,\nMonday to Friday."},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pairs =\n%#v\nwant\n%#v", got, want)
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, file, data, want string
	}{
		{"other extension", "faq.txt", "x", "faq.txt: curated answers are read from .csv"},
		{"empty csv", "f.csv", "", "file is empty"},
		{"no answer column", "f.csv", "question\nq\n", "line 1: no answer column"},
		{"unknown column", "f.csv", "question,answer,score\n", `line 1: unknown column "score"`},
		{"short row", "f.csv", "question,answer\nq\n", "line 2: 1 fields, the header has 2"},
		{"blank answer in csv", "f.csv", "question,answer\nq1,a1\nq2,  \n", "line 3: answer is required"},
		{"duplicate in csv", "f.csv", "question,answer\nHow?  Why,a\nhow? why?,b\n", "line 3: the question of line 2 again"},
		{"header only", "f.csv", "question,answer\n", "no questions found"},
		{"control char in csv", "f.csv", "question,answer\nq,a\x01b\n", "line 2: answer must not contain control characters"},
		{"not UTF-8", "f.md", "## q\n\xff\n", "not UTF-8"},
		{"no questions in markdown", "f.md", "# Title\n\ntext\n", "no questions found"},
		{"question without answer", "f.md", "## One\n\nfine\n\n## Two\n\n## Three\nok\n", "line 5: answer is required"},
		{"question too long", "f.md", "## " + strings.Repeat("q", 501) + "\nanswer\n", "line 1: question is 501 characters"},
		{"duplicate in markdown", "f.md", "## Refunds?\na\n## refunds\nb\n", "line 3: the question of line 1 again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile(tc.file, []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestHeading(t *testing.T) {
	for _, tc := range []struct {
		in    string
		level int
		text  string
	}{
		{"## How?", 2, "How?"},
		{"   ## Indented", 2, "Indented"},
		{"    ## code", 0, ""},
		{"##no space", 0, ""},
		{"## C# tips", 2, "C# tips"},
		{"## Closed ##", 2, "Closed"},
		{"# Title", 1, "Title"},
		{"####### seven", 0, ""},
		{"##", 2, ""},
	} {
		if l, s := heading(tc.in); l != tc.level || s != tc.text {
			t.Errorf("heading(%q) = %d %q, want %d %q", tc.in, l, s, tc.level, tc.text)
		}
	}
}

// FuzzParseFAQFile: any bytes, as CSV or Markdown, give an error or pairs
// the store accepts; CSV written back from the pairs parses to the same.
func FuzzParseFAQFile(f *testing.F) {
	for _, name := range []string{"testdata/shop.md", "testdata/shop.csv"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, strings.HasSuffix(name, ".csv"))
	}
	f.Add([]byte("question,answer\n\"a\"\"b\",\"x\ny\"\n"), true)
	f.Add([]byte("## q\n```\n## x\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, isCSV bool) {
		name := "f.md"
		if isCSV {
			name = "f.csv"
		}
		pairs, err := ParseFile(name, data)
		if err != nil {
			return
		}
		if len(pairs) == 0 {
			t.Fatal("no error and no pairs")
		}
		for _, p := range pairs {
			if err := store.ValidateFAQ(store.FAQ{Question: p.Question, Alternatives: p.Alternatives, Answer: p.Answer}); err != nil {
				t.Fatalf("parsed pair %+v is invalid: %v", p, err)
			}
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write([]string{"question", "answer", "alternatives"})
		for _, p := range pairs {
			w.Write([]string{p.Question, p.Answer, strings.Join(p.Alternatives, "|")})
		}
		w.Flush()
		again, err := ParseCSV(buf.Bytes())
		if err != nil {
			t.Fatalf("pairs written as CSV do not parse: %v\n%q", err, buf.String())
		}
		for i := range pairs {
			if again[i].Question != pairs[i].Question || again[i].Answer != pairs[i].Answer || strings.Join(again[i].Alternatives, "|") != strings.Join(pairs[i].Alternatives, "|") {
				t.Fatalf("pair %d: %+v written as CSV reads back as %+v", i, pairs[i], again[i])
			}
		}
	})
}
