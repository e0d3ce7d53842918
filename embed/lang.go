package embed

import (
	"unicode"
	"unicode/utf8"

	"github.com/abadojack/whatlanggo"
)

// Lang is the language an analyser treats text as: an ISO 639-1 code, or
// "cjk" for Chinese, Japanese and Korean (one analyser: character bigrams).
type Lang string

// The languages with an analyser of their own. Any other text is analysed
// as English (stop words and stemming of English, which leave unknown
// words of other languages almost as they are).
const (
	English    Lang = "en"
	Spanish    Lang = "es"
	French     Lang = "fr"
	German     Lang = "de"
	Portuguese Lang = "pt"
	Italian    Lang = "it"
	Russian    Lang = "ru"
	Swedish    Lang = "sv"
	Norwegian  Lang = "no"
	Hungarian  Lang = "hu"
	Arabic     Lang = "ar"
	CJK        Lang = "cjk"
)

// latinLangs are the Latin-script languages detection chooses among; a
// whitelist keeps whatlanggo from answering with one of its 80 others.
var latinLangs = map[whatlanggo.Lang]Lang{
	whatlanggo.Eng: English, whatlanggo.Spa: Spanish, whatlanggo.Fra: French, whatlanggo.Deu: German,
	whatlanggo.Por: Portuguese, whatlanggo.Ita: Italian, whatlanggo.Swe: Swedish, whatlanggo.Nob: Norwegian,
	whatlanggo.Hun: Hungarian,
}

// detectBytes is how much of a text detection reads.
const detectBytes = 240

// latinStopLangs maps each stop word of a Latin-script language to the
// languages it is a stop word of (built once, read-only).
var latinStopLangs = func() map[string][]Lang {
	m := map[string][]Lang{}
	for _, l := range latinOrder {
		for w := range stopLists[l] {
			m[w] = append(m[w], l)
		}
	}
	return m
}()

// minDetectLetters is the fewest letters from which the trigram detector
// is asked at all: below it ("refund?") its guess is noise, and English,
// the analyser that changes unknown words least, is the safer default.
const minDetectLetters = 12

// Detect returns the language of text: by script first (Arabic, Cyrillic,
// Han/Kana/Hangul decide alone), then, for Latin script, by trigram
// detection among the languages above. Short or unclear Latin text is
// English.
func Detect(text string) Lang { return DetectAmong(text, nil) }

// DetectAmong is Detect restricted to langs (e.g. the languages of an
// index's documents, so that a short question is not taken for a language
// none of the documents is in). An empty langs means every language; a
// single one is returned without looking at the text.
func DetectAmong(text string, langs []Lang) Lang {
	if len(langs) == 1 {
		return langs[0]
	}
	// The start of a chunk tells its language as well as all of it, and
	// detection runs for every chunk at every start-up.
	if len(text) > detectBytes {
		cut := detectBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	var arabic, cyrillic, cjk, latin int
	for _, r := range text {
		switch {
		case r < 0x80:
			if 'a' <= r|0x20 && r|0x20 <= 'z' {
				latin++
			}
		case unicode.Is(unicode.Arabic, r):
			arabic++
		case unicode.Is(unicode.Cyrillic, r):
			cyrillic++
		case unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r):
			cjk++
		case unicode.IsLetter(r):
			latin++
		}
	}
	allowed := func(l Lang) bool {
		if len(langs) == 0 {
			return true
		}
		for _, x := range langs {
			if x == l {
				return true
			}
		}
		return false
	}
	best, n := English, latin
	for _, c := range []struct {
		l Lang
		n int
	}{{Arabic, arabic}, {Russian, cyrillic}, {CJK, cjk}} {
		if c.n > n && allowed(c.l) {
			best, n = c.l, c.n
		}
	}
	if best != English || latin < minDetectLetters {
		if best == English && !allowed(English) {
			return firstLatin(langs)
		}
		return best
	}
	// Function words decide: the surest sign of a language in a short
	// text. On a tie, trigram statistics choose among the tied languages.
	// Text without any (a product table, part numbers) is left to the
	// default: trigram detection alone was unreliable on it and cost a
	// millisecond per chunk.
	votes, top := stopWordVotes(text, allowed)
	cands := map[whatlanggo.Lang]bool{}
	for wlang, l := range latinLangs {
		if top > 0 && allowed(l) && votes[l] == top {
			cands[wlang] = true
		}
	}
	if len(cands) == 1 && top >= 2 {
		for wlang := range cands {
			return latinLangs[wlang]
		}
	}
	if len(cands) > 0 {
		info := whatlanggo.DetectWithOptions(text, whatlanggo.Options{Whitelist: cands})
		if l, ok := latinLangs[info.Lang]; ok && cands[info.Lang] {
			return l
		}
	}
	if allowed(English) {
		return English
	}
	return firstLatin(langs)
}

// stopWordVotes counts the words of text that are stop words of each
// allowed Latin-script language, and the highest count.
func stopWordVotes(text string, allowed func(Lang) bool) (map[Lang]int, int) {
	votes := map[Lang]int{}
	top := 0
	for _, w := range Words(text) {
		for _, l := range latinStopLangs[w] {
			if allowed(l) {
				votes[l]++
				top = max(top, votes[l])
			}
		}
	}
	return votes, top
}

// firstLatin returns the first Latin-script language of langs, or the
// first of langs when none is.
func firstLatin(langs []Lang) Lang {
	for _, l := range langs {
		for _, x := range latinLangs {
			if x == l {
				return l
			}
		}
	}
	return langs[0]
}

// stopWordVote counts the words of text that are stop words of each
// allowed Latin-script language: function words are the surest sign of a
// language in a short text, where trigram statistics are thin. It answers
// only when one language has clearly more (at least two, and more than
// any other).
func stopWordVote(text string, allowed func(Lang) bool) (Lang, bool) {
	votes := map[Lang]int{}
	for _, w := range Words(text) {
		for _, l := range latinLangs {
			if allowed(l) && IsStopWordIn(w, l) {
				votes[l]++
			}
		}
	}
	best, top, second := English, 0, 0
	for _, l := range latinOrder {
		switch n := votes[l]; {
		case n > top:
			best, top, second = l, n, top
		case n > second:
			second = n
		}
	}
	return best, top >= 2 && top > second
}

// latinOrder fixes the order of the vote (map order is random).
var latinOrder = []Lang{English, Spanish, French, German, Portuguese, Italian, Swedish, Norwegian, Hungarian}
