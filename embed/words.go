package embed

import (
	"strings"
	"unicode"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/french"
	"github.com/kljensen/snowball/hungarian"
	"github.com/kljensen/snowball/norwegian"
	"github.com/kljensen/snowball/russian"
	"github.com/kljensen/snowball/spanish"
	"github.com/kljensen/snowball/swedish"
)

// Words splits text into lower-cased runs of letters and digits. Arabic is
// normalised first (see normaliseArabic); runs of Han, Kana or Hangul
// become overlapping character bigrams, since those scripts do not put
// spaces between words.
func Words(text string) []string {
	text = normaliseArabic(strings.ToLower(text))
	fields := strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	out := fields[:0:0]
	for _, f := range fields {
		out = appendCJKSplit(out, f)
	}
	return out
}

// Terms returns the stemmed words of text without stop words, analysed in
// the language Detect finds: the tokens both the built-in embedder and the
// lexical index use.
func Terms(text string) []string { return TermsIn(text, Detect(text)) }

// TermsIn is Terms in a given language.
func TermsIn(text string, lang Lang) []string {
	words := Words(text)
	out := words[:0]
	for _, w := range words {
		if IsStopWordIn(w, lang) {
			continue
		}
		out = append(out, StemIn(w, lang))
	}
	return out
}

// Stem is the Snowball English stem of a lower-case word.
func Stem(w string) string { return StemIn(w, English) }

// StemIn stems a lower-case word in lang: Snowball where it has the
// language (English irregular forms are first taken to their base form,
// see englishLemmas), light prefix and suffix stripping for Arabic, and
// the word itself otherwise. Words longer than 40 bytes (hashes, base64, URLs) and
// shorter than 3 are kept as they are.
func StemIn(w string, lang Lang) string {
	if len(w) > 40 || len(w) < 3 {
		return w
	}
	switch lang {
	case English:
		return english.Stem(englishLemma(w), true)
	case Spanish:
		return spanish.Stem(w, true)
	case French:
		return french.Stem(w, true)
	case Russian:
		return russian.Stem(w, true)
	case Swedish:
		return swedish.Stem(w, true)
	case Norwegian:
		return norwegian.Stem(w, true)
	case Hungarian:
		return hungarian.Stem(w, true)
	case Arabic:
		return stemArabic(w)
	}
	return w
}

// IsStopWord reports whether w is a very common English function word.
func IsStopWord(w string) bool { return IsStopWordIn(w, English) }

// IsStopWordIn reports whether w is a very common function word of lang.
func IsStopWordIn(w string, lang Lang) bool {
	l, ok := stopLists[lang]
	if !ok {
		l = stopWords
	}
	_, ok = l[w]
	return ok
}

// stopWords is a short English stop list (Lucene's classic list plus a few
// question words): small on purpose, so that a query like "what is a
// refund" keeps its meaning in "refund".
var stopWords = map[string]struct{}{
	"a": {}, "an": {}, "and": {}, "are": {}, "as": {}, "at": {}, "be": {}, "but": {}, "by": {},
	"for": {}, "if": {}, "in": {}, "into": {}, "is": {}, "it": {}, "no": {}, "not": {}, "of": {},
	"on": {}, "or": {}, "such": {}, "that": {}, "the": {}, "their": {}, "then": {}, "there": {},
	"these": {}, "they": {}, "this": {}, "to": {}, "was": {}, "will": {}, "with": {},
	"what": {}, "which": {}, "who": {}, "whom": {}, "how": {}, "do": {}, "does": {}, "did": {},
	"i": {}, "you": {}, "my": {}, "me": {}, "we": {}, "our": {}, "your": {}, "can": {}, "from": {},
	"has": {}, "have": {}, "had": {}, "been": {}, "were": {}, "its": {}, "so": {}, "than": {},
}
