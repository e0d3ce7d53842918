package rag

import (
	"context"
	"testing"
)

// A time phrase that tells the circumstances is left out of what
// retrieval reads; a question about time keeps it.
func TestRetrievalQuery(t *testing.T) {
	for q, want := range map[string]string{
		"my kettle is broken after 3 months, what can I do?": "my kettle is broken , what can I do?",
		"The lid cracked two weeks ago":                      "The lid cracked",
		"I ordered last week and nothing came":               "I ordered and nothing came",
		"Mein Wasserkocher ist nach 3 Monaten kaputt":        "Mein Wasserkocher ist kaputt",
		"mi hervidor no funciona después de dos meses":       "mi hervidor no funciona",
		"how long does a refund take after 5 days?":          "how long does a refund take after 5 days?",
		"when will my order arrive within 3 days":            "when will my order arrive within 3 days",
		"how much is the subscription per month":             "how much is the subscription per month",
		"after 3 months":                                     "after 3 months",
		"¿después de 2 meses?":                               "¿después de 2 meses?",
		"reset my password":                                  "reset my password",
	} {
		if got := retrievalQuery(q); got != want {
			t.Errorf("retrievalQuery(%q) = %q, want %q", q, got, want)
		}
	}
}

// "3 months" in a question about a broken kettle no longer pulls the
// page that says "month" most: the warranty page (kettle, breaks) comes
// first, in every mode.
func TestCircumstancesDoNotSteerRetrieval(t *testing.T) {
	ix := openIndex(t, openStore(t, t.TempDir()), newTestEmbedder(), Options{})
	putTexts(t, ix,
		BEIRDoc{ID: "filters", Text: "The filter subscription sends a new filter for your kettle every month. It costs 4.99 EUR per month and is billed monthly; it ends at the end of the month."},
		BEIRDoc{ID: "warranty", Text: "Every kettle comes with a two-year warranty. It covers a switch or lid that breaks in normal use."},
		BEIRDoc{ID: "shipping", Text: "Parcels leave our warehouse on working days."})
	for _, m := range []Mode{ModeHybrid, ModeLexical, ModeVector} {
		ps, err := ix.search(context.Background(), "my kettle is broken after 3 months, what can I do?", 2, m)
		if err != nil || len(ps) == 0 || ps[0].Source != "warranty" {
			t.Errorf("%s: %+v, %v; want the warranty page first", m, ps, err)
		}
	}
}

// The extractive answer weighs the sentences by the same terms: the
// passage retrieval ranked first for "3 months" (as before the change)
// does not win on "month".
func TestExtractIgnoresCircumstances(t *testing.T) {
	ps := []Passage{
		{Title: "Filters", Source: "filters.txt", Score: 0.5,
			Text: "The subscription sends a new filter for your kettle every month. It is billed monthly."},
		{Title: "Warranty", Source: "warranty.txt", Score: 0.3,
			Text: "Our warranty lasts two years. A kettle that breaks in normal use is covered."},
	}
	got, _ := Extract("my kettle is broken after 3 months, what can I do?", ps, 1)
	if want := "> A kettle that breaks in normal use is covered.\n  (Warranty)"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
