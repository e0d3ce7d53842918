package rag

import (
	"context"
	"testing"
)

func TestExtract(t *testing.T) {
	ps := []Passage{
		{Title: "Billing", Heading: "Billing > Refunds", Source: "docs/billing.md#refunds", Score: 0.8,
			Text: "Refunds are issued within 5 business days. Contact us for anything else. Annual plans get no refund after 30 days."},
		{Title: "FAQ", Source: "faq.txt", Score: 0.5, Text: "Our office is in Berlin. A refund request takes one click."},
		{Title: "Other", Source: "other.md", Score: 0.4, Text: "Unrelated text."},
	}
	answer, used := Extract("how long does a refund take?", ps, 3)
	want := "> Refunds are issued within 5 business days. Annual plans get no refund after 30 days.\n" +
		"  (Billing > Refunds)\n\n" +
		"> A refund request takes one click.\n" +
		"  (FAQ)"
	if answer != want {
		t.Fatalf("answer:\n%s\nwant:\n%s", answer, want)
	}
	if len(used) != 2 || used[0].Source != "docs/billing.md#refunds" || used[1].Source != "faq.txt" {
		t.Fatalf("used = %+v", used)
	}
}

func TestExtractOneSentence(t *testing.T) {
	ps := []Passage{{Title: "Account", Heading: "Account > Reset", Source: "a.md#reset", Score: 0.7,
		Text: "To reset your password, click Forgot password. The link expires after a day."}}
	answer, used := Extract("reset password", ps, 1)
	if answer != "> To reset your password, click Forgot password.\n  (Account > Reset)" || len(used) != 1 {
		t.Fatalf("answer = %q", answer)
	}
}

func TestExtractNothing(t *testing.T) {
	if answer, used := Extract("anything", nil, 3); answer != "" || used != nil {
		t.Fatalf("Extract(nil) = %q, %v", answer, used)
	}
}

// The index's Extract (with its stem cache) quotes exactly what Extract
// does, also the second time, when the stems come from the cache.
func TestIndexExtractMatchesExtract(t *testing.T) {
	ix, _, _ := ingested(t)
	for _, q := range []string{"when will I get my refund", "how do I reset my password?", "delivery"} {
		ps, err := ix.Search(context.Background(), q, 3)
		if err != nil || len(ps) == 0 {
			t.Fatalf("%q: %v, %d passages", q, err, len(ps))
		}
		want, wantUsed := Extract(q, ps, 3)
		for range 2 {
			got, used := ix.Extract(q, ps, 3)
			if got != want || len(used) != len(wantUsed) || want == "" {
				t.Fatalf("%q: index Extract = %q (%d used), want %q (%d used)", q, got, len(used), want, len(wantUsed))
			}
		}
	}
}

// The customer-facing answer never shows a file path: the citation is the
// title and heading, plus the address when the source is a web page; a
// passage with neither gets no citation line. The paths stay in used.
func TestExtractCitationsWithoutFilePaths(t *testing.T) {
	ps := []Passage{
		{Title: "Shipping", Source: "/home/op/docs/shipping.md#shipping", Score: 0.8, Text: "We ship to every EU country."},
		{Title: "Returns", Heading: "Returns > Window", Source: "https://help.example.com/returns#window", Score: 0.7, Text: "Ship the parcel back within 30 days."},
		{Source: "notes/internal.txt", Score: 0.6, Text: "Parcels ship on weekdays."},
	}
	answer, used := Extract("ship parcel", ps, 3)
	want := "> We ship to every EU country.\n  (Shipping)\n\n" +
		"> Ship the parcel back within 30 days.\n  (Returns > Window, https://help.example.com/returns#window)\n\n" +
		"> Parcels ship on weekdays."
	if answer != want {
		t.Fatalf("answer:\n%s\nwant:\n%s", answer, want)
	}
	if len(used) != 3 || used[0].Source != "/home/op/docs/shipping.md#shipping" || used[2].Source != "notes/internal.txt" {
		t.Fatalf("used = %+v", used)
	}
}

// A chunk that starts with the document's title line: the title is not an
// answer sentence, whatever it shares with the question.
func TestExtractNeverQuotesATitleOrHeading(t *testing.T) {
	ps := []Passage{{Title: "Shipping and delivery", Heading: "Shipping and delivery > Countries", Source: "shipping.md#countries", Score: 0.6,
		Text: "Shipping and delivery\nCountries:\nWe do not ship to the United States or Canada. Shipping in Germany costs 4.90 EUR."}}
	answer, _ := Extract("do you ship to the USA?", ps, 2)
	want := "> We do not ship to the United States or Canada. Shipping in Germany costs 4.90 EUR.\n  (Shipping and delivery > Countries)"
	if answer != want {
		t.Fatalf("answer:\n%s\nwant:\n%s", answer, want)
	}
}

// A document ingested under two paths is quoted once, and the next
// distinct passage takes the freed place.
func TestExtractDedupesIdenticalPassages(t *testing.T) {
	ps := []Passage{
		{Title: "Refunds", Source: "docs/refunds.md", Score: 0.8, Text: "Refunds take 5 days."},
		{Title: "Refunds", Source: "copy/refunds.md", Score: 0.8, Text: "Refunds  take 5 days.\n"},
		{Title: "Vouchers", Source: "docs/vouchers.md", Score: 0.5, Text: "Refund vouchers last a year."},
	}
	answer, used := Extract("refund", ps, 3)
	want := "> Refunds take 5 days.\n  (Refunds)\n\n> Refund vouchers last a year.\n  (Vouchers)"
	if answer != want || len(used) != 2 || used[1].Source != "docs/vouchers.md" {
		t.Fatalf("answer:\n%s\nwant:\n%s\nused %+v", answer, want, used)
	}
}

// List items are quoted one per line, as list items, not run together
// into one line; the paragraph after a list is a sentence of its own.
func TestExtractKeepsListItems(t *testing.T) {
	ps := []Passage{{Title: "Account", Source: "a.md", Score: 0.6,
		Text: "Sign-in help for your password:\n\n- Forgot password? Use the reset link.\n- Locked out after five tries?\n- Use SSO\n\nThat is all."}}
	answer, _ := Extract("forgot password locked", ps, 3)
	want := "> Sign-in help for your password:\n> - Forgot password?\n> - Locked out after five tries?\n  (Account)"
	if answer != want {
		t.Fatalf("answer:\n%s\nwant:\n%s", answer, want)
	}
	if got := Sentences("- Use SSO\n\nThat is all."); len(got) != 2 || got[0] != "- Use SSO" || got[1] != "That is all." {
		t.Fatalf("Sentences = %q", got)
	}
}

// A sentence wrapped over lines in the document is quoted on one line:
// the continuation would otherwise fall out of the Markdown quote.
func TestExtractQuotesWrappedSentencesOnOneLine(t *testing.T) {
	ps := []Passage{{Title: "Account", Score: 0.8, Text: "Click Forgot password on the login page. We\nsend you a link to choose a new\n  password; the link is valid for one hour.\n\n- first\n  item wrapped\n- second"}}
	answer, _ := Extract("when do you send the password link", ps, 1)
	if want := "> We send you a link to choose a new password; the link is valid for one hour.\n  (Account)"; answer != want {
		t.Fatalf("answer:\n%s\nwant:\n%s", answer, want)
	}
	answer, _ = Extract("first item wrapped second", ps, 2)
	if want := "> - first item wrapped\n> - second\n  (Account)"; answer != want {
		t.Fatalf("answer:\n%s\nwant:\n%s", answer, want)
	}
}

// A plain-text file's first line, a short paragraph of its own, is its
// title even when the document's title is its file name: never quoted.
func TestExtractSkipsPlainTextTitleLine(t *testing.T) {
	ps := []Passage{{Title: "filters", Source: "filters.txt", Score: 0.5,
		Text: "Filter subscription\n\nThe filter subscription sends you a new filter every month. You can cancel the subscription at any time."}}
	got, _ := Extract("can I cancel the filter subscription?", ps, 3)
	want := "> The filter subscription sends you a new filter every month. You can cancel the subscription at any time.\n  (filters)"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// A first paragraph that is a sentence, or says a number, stays.
	for _, text := range []string{"Call us on 030 1234 5678\n\nWe answer within a day.", "We ship everywhere.\n\nDelivery is free."} {
		if first := Sentences(text)[0]; isTitleParagraph(first, text) {
			t.Errorf("%q taken for a title", first)
		}
	}
}
