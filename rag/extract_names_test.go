package rag

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/embed"
)

// A question naming something no document mentions ("PayPal") is not
// answered from a sentence that only shares another word with it ("paid");
// it is answered when the passage is about that other word (its title or
// heading holds it), as "Do you ship to the USA?" is by the shipping page.
func TestExtractNamedThingNoDocumentMentions(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{MinScore: -1})
	dir := writeDocs(t, map[string]string{
		"filters.txt": "Filter subscription\n\nThe subscription ends at the end of the month you have paid for.\n",
		"shipping.md": "# Shipping and delivery\n\nWe do not ship to the United States or Canada.\n",
	})
	ctx := context.Background()
	if _, err := ix.Ingest(ctx, []string{dir}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{
		"Can I pay with PayPal?":    "",
		"can I pay with paypal?":    "month you have paid for", // no name written: the customer's word may be missing
		"When have I paid for?":     "month you have paid for", // nothing unknown
		"Do you ship to the USA?":   "do not ship to the United States",
		"DO YOU SHIP TO THE USA???": "do not ship to the United States",
	} {
		ps, err := ix.Search(ctx, q, 3)
		if err != nil || len(ps) == 0 {
			t.Fatalf("%q: %v, %d passages", q, err, len(ps))
		}
		got, used := ix.Extract(q, ps, 3)
		if want == "" {
			if got != "" || used != nil {
				t.Errorf("%q: answered %q, want nothing", q, got)
			}
			continue
		}
		if !strings.Contains(got, want) {
			t.Errorf("%q: answer %q, want it to hold %q", q, got, want)
		}
	}
}

func TestNamesIn(t *testing.T) {
	for q, want := range map[string][]string{
		"Can I pay with PayPal?":        {"paypal"},
		"Do you ship to the USA?":       {"usa"},
		"does it work with my iPhone":   {"iphon"},
		"Kann ich mit Klarna bezahlen?": nil, // German capitals every noun: not names
		"HOW DO I RESET MY PASSWORD":    nil, // shouted
		"Where is my order?":            nil,
	} {
		if got := namesIn(q, embed.Detect(q), embed.TermsIn); !slices.Equal(got, want) {
			t.Errorf("namesIn(%q) = %q, want %q", q, got, want)
		}
	}
}
