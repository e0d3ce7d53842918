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
		"  (Billing > Refunds, docs/billing.md#refunds)\n\n" +
		"> A refund request takes one click.\n" +
		"  (FAQ, faq.txt)"
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
	if answer != "> To reset your password, click Forgot password.\n  (Account > Reset, a.md#reset)" || len(used) != 1 {
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
