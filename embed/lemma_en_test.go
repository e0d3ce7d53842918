package embed

import "testing"

// An irregular form and its base's regular inflections share one stem, so
// "my kettle is broken" finds "a lid that breaks".
func TestIrregularFormsShareTheBaseStem(t *testing.T) {
	for form, relative := range map[string]string{
		"broken": "breaks", "broke": "breaking", "bought": "buying", "sent": "sending", "paid": "pays",
		"children": "child", "forgot": "forgetting", "took": "takes", "written": "writes", "knives": "knife",
		"teeth": "tooth", "lost": "losing", "understood": "understands", "criteria": "criterion",
	} {
		if a, b := StemIn(form, English), StemIn(relative, English); a != b {
			t.Errorf("StemIn(%q) = %q, StemIn(%q) = %q; want one stem", form, a, relative, b)
		}
	}
}

// Every entry stems like its base (Snowball's stem of the base form, so
// the table never invents a stem), no base is itself a listed form (no
// chains), and the words left out for their other meaning stay as
// Snowball has them.
func TestEnglishLemmaTable(t *testing.T) {
	if len(englishLemmas) < 200 {
		t.Fatalf("%d irregular forms; want the common few hundred", len(englishLemmas))
	}
	for form, base := range englishLemmas {
		if got, want := StemIn(form, English), StemIn(base, English); got != want {
			t.Errorf("StemIn(%q) = %q, want %q (the stem of %q)", form, got, want, base)
		}
		if _, ok := englishLemmas[base]; ok {
			t.Errorf("%q -> %q, and %q is listed as a form too", form, base, base)
		}
	}
	for _, w := range []string{"left", "saw", "ground", "bit", "won", "found", "better", "people"} {
		if _, ok := englishLemmas[w]; ok {
			t.Errorf("%q is in the table; it is a common word of another meaning", w)
		}
	}
	// Other languages are untouched: "men" is not a form of Spanish.
	if got := StemIn("broken", Spanish); got == StemIn("break", Spanish) {
		t.Errorf("a Spanish word went through the English table: %q", got)
	}
}
