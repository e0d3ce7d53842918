package chat

import (
	"strings"
	"testing"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// urlRetriever is a fakeRetriever that knows public URLs by source, as
// *rag.Index does (urlResolver).
type urlRetriever struct {
	fakeRetriever
	urls map[string]string
}

func (r *urlRetriever) WithURLs(ps []Passage) []Passage {
	out := append([]Passage(nil), ps...)
	for i := range out {
		out[i].URL = r.urls[out[i].Source]
	}
	return out
}

// An LLM answer through the fake Ollama: its [n] markers are renumbered
// in order of first citation and listed under the answer with the title
// linked to the public URL (a crawled page's own address; none for a
// document without one), never a file path; the API's sources keep the
// paths, and the conversation remembers the model's own text.
func TestLLMAnswerListsFollowableSources(t *testing.T) {
	passages := []Passage{
		{ChunkID: "w", Title: "Warranty", Source: "docs/warranty.md#warranty", Score: 0.9,
			Text: "Kettles have a two-year warranty; returns of kettles follow the refund rules."},
		{ChunkID: "r", Title: "Returns", Heading: "Refund window", Source: "docs/refunds.md#refund-window", Score: 0.8,
			Text: "Kettles can be returned within 30 days."},
		{ChunkID: "s", Title: "Shipping", Source: "https://shop.example/shipping", Score: 0.7,
			Text: "Returns of kettles ship free with the label."},
	}
	r := &urlRetriever{fakeRetriever: fakeRetriever{passages: passages},
		urls: map[string]string{"docs/refunds.md#refund-window": "https://help.example.com/refunds#refund-window"}}
	f := newFakeOllama(t)
	f.answer = "You can return kettles within 30 days [2], and the label is free [3][2]. The warranty is two years [1]."
	mem := openMemory(t)
	e, err := NewEngine(Config{Retriever: r, Extract: fakeExtract, LLM: newTestOllama(t, f.url(), nil), Memory: mem})
	if err != nil {
		t.Fatal(err)
	}
	rep := ask(t, e, "c1", "can I return kettles?")
	want := "You can return kettles within 30 days [1], and the label is free [2][1]. The warranty is two years [3].\n\n" +
		"Sources:\n" +
		"1. [Returns > Refund window](https://help.example.com/refunds#refund-window)\n" +
		"2. [Shipping](https://shop.example/shipping)\n" +
		"3. Warranty"
	if rep.Type != TypeRAG || rep.Answer != want {
		t.Fatalf("answer\n%s\nwant\n%s", rep.Answer, want)
	}
	if strings.Contains(rep.Answer, "docs/") || strings.Contains(rep.Answer, ".md") {
		t.Fatalf("a file path in the customer's answer: %q", rep.Answer)
	}
	if len(rep.Sources) != 3 || rep.Sources[0].Source != "docs/refunds.md#refund-window" ||
		rep.Sources[0].URL != "https://help.example.com/refunds#refund-window" || rep.Sources[2].Source != "docs/warranty.md#warranty" {
		t.Fatalf("sources = %+v", rep.Sources)
	}
	c, err := mem.Conversation(store.ConvRef{Platform: "freshchat", ConversationID: "c1"})
	if err != nil || len(c.Turns) != 2 || c.Turns[1].Text != f.answer {
		t.Fatalf("remembered %+v (%v), want the model's text %q", c.Turns, err, f.answer)
	}
}

func TestListCitations(t *testing.T) {
	ps := []Passage{
		{Title: "Returns", Heading: "Refund window", Source: "docs/a.md#x", URL: "https://help.example.com/returns (old)"},
		{Title: "Returns", Heading: "Refund window", Source: "docs/a.md#x-2", URL: "https://help.example.com/returns (old)"},
		{Title: "Tips [beta]", Source: "docs/b.md", URL: "javascript:alert(1)"},
		{Source: "docs/c.md", Text: "One two three four five six seven eight nine ten."},
	}
	for _, c := range []struct {
		name, answer string
		lang         embed.Lang
		want         string
	}{
		{"no citation: as it is", "Nothing cited here.", embed.English, "Nothing cited here."},
		{"two chunks of one section share a number; a URL is escaped", "A [1]. B [2]. C [1, 2].", embed.English,
			"A [1]. B [1]. C [1].\n\nSources:\n1. [Returns > Refund window](https://help.example.com/returns%20%28old%29)"},
		{"unsafe scheme dropped, brackets in the title replaced", "Tip [3].", embed.Spanish,
			"Tip [1].\n\nFuentes:\n1. Tips (beta)"},
		{"no title, no URL: the first words", "Count [4].", embed.Lang("ja"),
			"Count [1].\n\nSources:\n1. One two three four five six seven eight …"},
		{"Arabic label", "نعم [2]", embed.Arabic,
			"نعم [1]\n\nالمصادر:\n1. [Returns > Refund window](https://help.example.com/returns%20%28old%29)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := listCitations(c.answer, ps, c.lang); got != c.want {
				t.Errorf("listCitations(%q) =\n%s\nwant\n%s", c.answer, got, c.want)
			}
		})
	}
}

// FuzzListCitations: the model's text is untrusted. Whatever it writes,
// after mapCitations every marker left names an entry of the list, and no
// entry shows a source path.
func FuzzListCitations(f *testing.F) {
	for _, s := range []string{"a [1] b [2]", "[2, 1, 2]", "[[7]1]", "x", "[1]](javascript:)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mapped, _ := mapCitations(s, refundPassages)
		out := listCitations(mapped, refundPassages, embed.English)
		body, list, _ := strings.Cut(out, "\n\nSources:\n")
		if list == "" {
			body = out
		}
		entries := 0
		if list != "" {
			entries = len(strings.Split(list, "\n"))
		}
		for _, m := range citation.FindAllStringSubmatch(body, -1) {
			for _, n := range strings.Split(m[1], ",") {
				if k := strings.TrimSpace(n); k < "1" || len(k) != 1 || int(k[0]-'0') > entries {
					t.Fatalf("%q: marker %q of %d entries in %q", s, k, entries, out)
				}
			}
		}
		for _, p := range refundPassages {
			if strings.Contains(list, p.Source) {
				t.Fatalf("%q: list shows the path %q", s, p.Source)
			}
		}
	})
}
