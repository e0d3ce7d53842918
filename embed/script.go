package embed

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// normaliseArabic folds the spelling variants Arabic text mixes freely:
// short-vowel marks (harakat) and the superscript alef are dropped, as is
// tatweel (the stretching stroke); hamza-carrying alefs and alef wasla
// become bare alef, alef maqsura becomes yeh, teh marbuta becomes heh.
// Text without Arabic letters is returned unchanged.
func normaliseArabic(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x0600 && r <= 0x06FF }) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 0x064B && r <= 0x065F, r == 0x0670, r == 0x0640:
			continue
		case r == 'أ' || r == 'إ' || r == 'آ' || r == 'ٱ':
			r = 'ا'
		case r == 'ى':
			r = 'ي'
		case r == 'ة':
			r = 'ه'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Arabic light stemming (after Larkey et al.'s "light10"): the article and
// conjunction prefixes and the commonest suffixes, as long as at least two
// letters remain. Works on normalised words.
var (
	arabicPrefixes = []string{"وال", "بال", "كال", "فال", "لل", "ال", "و"}
	arabicSuffixes = []string{"ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي"}
)

func stemArabic(w string) string {
	for _, p := range arabicPrefixes {
		if strings.HasPrefix(w, p) && utf8.RuneCountInString(w)-utf8.RuneCountInString(p) >= 2 {
			w = w[len(p):]
			break
		}
	}
	for _, s := range arabicSuffixes {
		if strings.HasSuffix(w, s) && utf8.RuneCountInString(w)-utf8.RuneCountInString(s) >= 2 {
			w = w[:len(w)-len(s)]
		}
	}
	return w
}

func isCJK(r rune) bool {
	if r < 0x1100 { // below Hangul Jamo, the first of these blocks
		return false
	}
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// appendCJKSplit appends word to out, with each run of CJK characters in it
// replaced by its overlapping bigrams (a lone character stays itself) and
// the other runs kept whole.
func appendCJKSplit(out []string, word string) []string {
	if !strings.ContainsFunc(word, isCJK) {
		return append(out, word)
	}
	rs := []rune(word)
	for i := 0; i < len(rs); {
		j := i
		cjk := isCJK(rs[i])
		for j < len(rs) && isCJK(rs[j]) == cjk {
			j++
		}
		switch {
		case !cjk:
			out = append(out, string(rs[i:j]))
		case j-i == 1:
			out = append(out, string(rs[i]))
		default:
			for k := i; k+1 < j; k++ {
				out = append(out, string(rs[k:k+2]))
			}
		}
		i = j
	}
	return out
}
