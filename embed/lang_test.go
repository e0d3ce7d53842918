package embed

import (
	"slices"
	"testing"
)

func TestDetect(t *testing.T) {
	for _, c := range []struct {
		text string
		want Lang
	}{
		{"How much is shipping to Germany?", English},
		{"¿Cuánto cuesta el envío a Canarias?", Spanish},
		{"Où est ma commande ?", French},
		{"Wo ist meine Bestellung?", German},
		{"Vocês entregam no Brasil?", Portuguese},
		{"hej hur mår du idag, jag vill ha hjälp med min beställning", Swedish},
		{"Сколько стоит доставка?", Russian},
		{"كم سعر الشحن", Arabic},
		{"送料はいくらですか", CJK},
		{"refund", English}, // too short to tell: English
		{"Hi", English},
	} {
		if got := Detect(c.text); got != c.want {
			t.Errorf("Detect(%q) = %s, want %s", c.text, got, c.want)
		}
	}
}

func TestDetectAmong(t *testing.T) {
	// One language in the index: the question is taken for it, however short.
	if got := DetectAmong("envío", []Lang{Spanish}); got != Spanish {
		t.Errorf("single language: got %s", got)
	}
	// Among the index's languages only: Latin-script text in an index of
	// Russian and Spanish documents is Spanish, never English.
	if got := DetectAmong("PayPal", []Lang{Russian, Spanish}); got != Spanish {
		t.Errorf("Latin text among ru, es: got %s", got)
	}
	if got := DetectAmong("Где мой заказ?", []Lang{English, Russian}); got != Russian {
		t.Errorf("Cyrillic among en, ru: got %s", got)
	}
}

func TestTermsPerLanguage(t *testing.T) {
	for _, c := range []struct {
		lang Lang
		text string
		want []string
	}{
		// Snowball stemmers: singular and plural (and accented forms) meet.
		{Spanish, "Las devoluciones son gratuitas; ¿puedo hacer una devolución?", []string{"devolu", "son", "gratuit", "pued", "hac", "devolu"}},
		{French, "Les livraisons et la livraison", []string{"livraison", "livraison"}},
		{Russian, "Посылка пришла. Где моя посылки?", []string{"посылк", "пришл", "мо", "посылк"}},
		{Swedish, "beställningar beställning", []string{"beställning", "beställning"}},
		{Norwegian, "bestillinger bestillingen", []string{"bestilling", "bestilling"}},
		{Hungarian, "rendelések rendelés", []string{"rendelés", "rendelés"}},
		// English is what it always was.
		{English, "What is the refund policy for refunds?", []string{"refund", "polici", "refund"}},
		// No stemmer: stop words go, words stay.
		{German, "Wo ist meine Bestellung", []string{"bestellung"}},
		// Arabic: normalised, article and suffixes stripped, stop word "في" dropped.
		{Arabic, "أَحْمَد كـــتاب مستشفى مدرسة والكتاب في", []string{"احمد", "كتاب", "مستشف", "مدرس", "كتاب"}},
		// CJK: character bigrams.
		{CJK, "送料無料", []string{"送料", "料無", "無料"}},
	} {
		if got := TermsIn(c.text, c.lang); !slices.Equal(got, c.want) {
			t.Errorf("TermsIn(%q, %s) = %q, want %q", c.text, c.lang, got, c.want)
		}
		if got := NewAnalyzer().TermsIn(c.text, c.lang); !slices.Equal(got, c.want) {
			t.Errorf("Analyzer.TermsIn(%q, %s) = %q, want %q", c.text, c.lang, got, c.want)
		}
	}
}

func TestWordsNormaliseScripts(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		// Harakat and tatweel gone, hamza alef -> alef, alef maqsura -> yeh,
		// teh marbuta -> heh: the spellings of one word meet.
		{"أَحْمَد كـــتاب مستشفى مدرسة", []string{"احمد", "كتاب", "مستشفي", "مدرسه"}},
		{"احمد كتاب مستشفي مدرسه", []string{"احمد", "كتاب", "مستشفي", "مدرسه"}},
		// Runs of Han, Kana and Hangul become bigrams; Latin runs stay whole.
		{"送料無料 iPhone充電器 한국어", []string{"送料", "料無", "無料", "iphone", "充電", "電器", "한국", "국어"}},
		{"本", []string{"本"}},
		{"Refund, policy!", []string{"refund", "policy"}},
	} {
		if got := Words(c.text); !slices.Equal(got, c.want) {
			t.Errorf("Words(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestAnalyzerCacheKeepsLanguagesApart(t *testing.T) {
	a := NewAnalyzer()
	// The same word stemmed in two languages must not share a cache entry.
	en, ru := a.StemIn("посылки", English), a.StemIn("посылки", Russian)
	if en != "посылки" || ru != "посылк" {
		t.Fatalf("en %q ru %q", en, ru)
	}
}

func FuzzWords(f *testing.F) {
	for _, s := range []string{"أَحْمَد كـــتاب", "送料無料 iPhone充電器", "¿Qué?", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range Words(s) {
			if w == "" {
				t.Fatalf("empty word from %q", s)
			}
		}
		_ = Terms(s)
	})
}
