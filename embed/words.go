package embed

import (
	"strings"
	"unicode"

	"github.com/kljensen/snowball/english"
)

// Words splits text into lower-cased runs of letters and digits.
func Words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Terms returns the stemmed words of text without stop words: the tokens
// both the built-in embedder and the lexical index use.
func Terms(text string) []string {
	words := Words(text)
	out := words[:0]
	for _, w := range words {
		if IsStopWord(w) {
			continue
		}
		out = append(out, Stem(w))
	}
	return out
}

// Stem is the Snowball English stem of a lower-case word. Words longer
// than 40 runes (hashes, base64, URLs) are kept as they are.
func Stem(w string) string {
	if len(w) > 40 || len(w) < 3 {
		return w
	}
	return english.Stem(w, true)
}

// IsStopWord reports whether w is a very common English function word.
func IsStopWord(w string) bool {
	_, ok := stopWords[w]
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
