package rag

import (
	"context"
	"strings"
	"testing"
)

// At retrieval, a contact question lifts the passages holding the detail
// it asks for above the threshold, in hybrid mode only; a passage that
// merely shares the word ("valid for one hour") or holds a single time
// ("before 14:00") is not lifted, and the lexical side is left as it is.
func TestSearchBoostsContactPassages(t *testing.T) {
	ix := openIndex(t, openStore(t, t.TempDir()), newTestEmbedder(), Options{})
	putTexts(t, ix,
		BEIRDoc{ID: "password", Text: "Click Forgot password on the login page. The reset link is valid for one hour."},
		BEIRDoc{ID: "support", Text: "Our support team is available Monday to Friday from 9:00 to 17:00."},
		BEIRDoc{ID: "delivery", Text: "Orders placed before 14:00 on a working day leave our warehouse the same day."},
		BEIRDoc{ID: "phone", Text: "Call us on +49 30 1234 5678 if the parcel is late."},
		BEIRDoc{ID: "descale", Text: "Descale the kettle every four weeks with citric acid."},
		BEIRDoc{ID: "warranty", Text: "Every kettle comes with a two-year warranty; enter the serial number on the form."})
	ctx := context.Background()
	// The threshold is the calibrated one: wait for it (it is otherwise
	// recalibrated in the background after the ingest).
	if err := ix.Calibrate(ctx); err != nil {
		t.Fatal(err)
	}
	rank := func(q string, mode Mode) map[string]int {
		ps, err := ix.search(ctx, q, 6, mode)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for i, p := range ps {
			if p.Score >= ix.minScore(mode) {
				out[p.Source] = i + 1
			}
		}
		return out
	}
	for _, c := range []struct{ q, want, notLifted string }{
		{"what are your opening hours?", "support", "delivery"},
		{"do you have a phone number", "phone", "warranty"},
	} {
		h := rank(c.q, ModeHybrid)
		if r, ok := h[c.want]; !ok || r > 2 {
			t.Errorf("%q hybrid: %s at rank %d (0: below the threshold), want among the first 2; ranks %v", c.q, c.want, r, h)
		}
		if l := rank(c.q, ModeLexical); l[c.want] != 0 {
			t.Errorf("%q lexical: %s ranked %d; the lexical side must not be boosted", c.q, c.want, l[c.want])
		}
	}
	// A question without a contact cue ranks as fused.
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ranked := []scored{{slot: 0, score: 0.5}, {slot: 1, score: 0.2}}
	if got := ix.boostCues("how do I descale my kettle", ModeHybrid, ranked); got[0].score != 0.5 || got[1].score != 0.2 {
		t.Errorf("boosted without a cue: %+v", got)
	}
}

// The cues (and the retrieval query made from them) read customers' questions and documents' sentences as they
// come: no input panics, and a detected phone number has 7 to 15 digits.
func FuzzContactCues(f *testing.F) {
	for _, s := range []string{"what are your opening hours?", "Call us on +49 30 1234 5678", "9:00 to 17:00", "+((((", "2026-01-15", "a@b.c", "¿A qué hora abre?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cue := cueOf(s)
		_ = carriesCue(cue, s)
		if r := retrievalQuery(s); strings.TrimSpace(s) != "" && strings.TrimSpace(r) == "" {
			t.Fatalf("retrievalQuery(%q) left nothing", s)
		}
		// The cheap checks before the regular expressions never change
		// their answer.
		if lower := strings.ToLower(s); hasOpeningHours(lower) != hoursRE.MatchString(lower) {
			t.Fatalf("hasOpeningHours(%q) = %v, the expression says otherwise", lower, hasOpeningHours(lower))
		}
		if hasEmailAddress(s) != emailRE.MatchString(s) {
			t.Fatalf("hasEmailAddress(%q) = %v, the expression says otherwise", s, hasEmailAddress(s))
		}
		if hasPhoneNumber(s) {
			n := 0
			for _, r := range s {
				if r >= '0' && r <= '9' {
					n++
				}
			}
			if n < 7 {
				t.Fatalf("phone number found in %q with %d digits", s, n)
			}
		}
	})
}

// A contact question's cue is checked on every candidate passage; most
// hold no digit run, address or weekday (BENCHMARKS.md, round two).
func BenchmarkCarriesContactCue(b *testing.B) {
	text := strings.Repeat("To renew your order in account, follow these steps. Changes to your backup take effect "+
		"within a few minutes; you will receive a confirmation email about the account. If the language option is "+
		"greyed out, ask an administrator of your workspace to grant you the language permission. ", 4)
	for _, cue := range []questionCue{cueHours, cuePhone, cueEmail} {
		b.Run(map[questionCue]string{cueHours: "hours", cuePhone: "phone", cueEmail: "email"}[cue], func(b *testing.B) {
			for b.Loop() {
				carriesCue(cue, text)
			}
		})
	}
}
