// Package faq keeps the operator's curated answers (question/answer pairs
// stored by store/faq.go) ready for the engine: a matcher over their
// questions and alternative phrasings, rebuilt in memory whenever they
// change, the management API (/api/faq), and the parser of the CSV and
// Markdown files that `chatbot faq import` reads.
package faq

import (
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/chatbot/chatbot/embed"
)

// filler are words that say how a question is asked, not what it is
// about ("hi, could you please tell me..."): left out of matching, beside
// the analyser's stop words, so that politeness neither blocks a match
// nor makes one. Lower case, unstemmed.
var filler = map[string]bool{
	"please": true, "pls": true, "plz": true, "hi": true, "hello": true, "hey": true, "thanks": true, "thank": true,
	"thx": true, "help": true, "need": true, "want": true, "would": true, "could": true, "should": true, "like": true,
	"know": true, "tell": true, "let": true, "just": true, "any": true, "anyone": true, "way": true, "possible": true,
	"able": true, "am": true, "get": true, "wondering": true, "wonder": true, "question": true, "also": true,
	"really": true, "ll": true, "re": true, "ve": true,
	// the greetings and thanks of the other languages with canned texts
	"bitte": true, "hallo": true, "danke": true, "bonjour": true, "merci": true, "svp": true, "hola": true,
	"gracias": true, "favor": true, "ciao": true, "grazie": true, "olá": true, "obrigado": true, "obrigada": true,
}

// terms is the set of content terms of text analysed in lang: the
// analyser's words without stop words and filler, stemmed, without single
// Latin letters (the "t" of "can't"), sorted and unique.
func terms(an *embed.Analyzer, text string, lang embed.Lang) []string {
	var out []string
	for _, w := range embed.Words(text) {
		if embed.IsStopWordIn(w, lang) || filler[w] {
			continue
		}
		if r, n := utf8.DecodeRuneInString(w); n == len(w) && r < utf8.RuneSelf && unicode.IsLetter(r) {
			continue
		}
		out = append(out, an.StemIn(w, lang))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// nearSpelling reports whether a and b differ by one edit (a letter
// inserted, dropped, replaced, or two neighbours swapped), for words of at
// least minFuzzyRunes: "pasword" is "password", "adress" is "address".
func nearSpelling(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) < minFuzzyRunes || len(rb) < minFuzzyRunes {
		return false
	}
	if len(ra) > len(rb) {
		ra, rb = rb, ra
	}
	if len(rb)-len(ra) > 1 {
		return false
	}
	i := 0
	for i < len(ra) && ra[i] == rb[i] {
		i++
	}
	if i == len(ra) {
		return len(rb) == len(ra)+1 // one letter added at the end (equal words are not "near")
	}
	if len(ra) == len(rb) {
		if slices.Equal(ra[i+1:], rb[i+1:]) { // replaced
			return true
		}
		// swapped neighbours
		return i+1 < len(ra) && ra[i] == rb[i+1] && ra[i+1] == rb[i] && slices.Equal(ra[i+2:], rb[i+2:])
	}
	return slices.Equal(ra[i:], rb[i+1:]) // inserted
}

// minFuzzyRunes is the shortest term a misspelling is forgiven in: below
// it one letter is too often another word ("card", "cart").
const minFuzzyRunes = 5
