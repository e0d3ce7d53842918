package rag

import "testing"

// Each question type picks, among sentences that match the same words,
// the one that carries the kind of fact it asks for (one sentence asked).
func TestExtractQuestionCues(t *testing.T) {
	for _, c := range []struct {
		question, text, want string
	}{
		{"Do you ship to the USA?",
			"Shipping is handled by our partners across Europe. We do not ship to the United States or Canada.",
			"We do not ship to the United States or Canada."},
		{"How much is shipping?",
			"Shipping is tracked from our warehouse. Shipping within Germany costs 4.90 EUR.",
			"Shipping within Germany costs 4.90 EUR."},
		{"When does support answer?",
			"Support answers every question in writing. Support answers from Monday to Friday, 9:00 to 17:00.",
			"Support answers from Monday to Friday, 9:00 to 17:00."},
		{"¿Cuánto cuesta el envío?",
			"El envío se hace con mensajería urgente. El envío cuesta 4,95 euros.",
			"El envío cuesta 4,95 euros."},
		// No cue: the first of equal sentences, as before.
		{"shipping partners",
			"Shipping partners are listed below. Shipping partners change yearly in 2025.",
			"Shipping partners are listed below."},
	} {
		ps := []Passage{{Title: "Help", Source: "help.md", Score: 0.5, Text: c.text}}
		got, _ := Extract(c.question, ps, 1)
		if want := "> " + c.want + "\n  (Help)"; got != want {
			t.Errorf("%q:\n got %q\nwant %q", c.question, got, want)
		}
	}
}

func TestCueOf(t *testing.T) {
	for q, want := range map[string]questionCue{
		"Do you ship to the USA?":          cueYesNo,
		"can I pay with PayPal":            cueYesNo,
		"How much does the kettle cost?":   cueAmount,
		"what does it cost":                cueAmount,
		"¿Cuánto cuesta?":                  cueAmount,
		"how long does a refund take?":     cueTime,
		"When will my parcel arrive?":      cueTime,
		"Wann kommt mein Paket?":           cueTime,
		"my kettle is broken":              cueNone,
		"what are your opening hours?":     cueNone,
		"Combien coûte la livraison ?":     cueAmount,
		"Est-ce que vous livrez en Suisse": cueYesNo,
	} {
		if got := cueOf(q); got != want {
			t.Errorf("cueOf(%q) = %d, want %d", q, got, want)
		}
	}
}
