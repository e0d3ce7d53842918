package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/chatbot/chatbot/store"
)

// words splits s into lower-case words of letters and digits, in any script.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && r != '\''
	})
}

// estimateTokens is a cheap, tokenizer-free estimate: about four bytes per
// token (English text; multi-byte scripts come out near one per rune) and
// at least one token per word.
func estimateTokens(s string) int {
	n := (len(s) + 3) / 4
	if w := len(words(s)); w > n {
		n = w
	}
	return n
}

// stopWords are dropped when a previous turn's terms expand a follow-up.
var stopWords = set(`a an the and or but if then so to of in on at by for with from about as into is are was were be been
being do does did have has had i you he she it we they me my your our their its this that these those there here what
which who whom whose when where why how can could would should will shall may might must not no yes please thanks thank
hi hello hey also too just only very more most some any all much many one ok okay well get got let me us them his her
don't doesn't isn't can't i'm it's what's how's`)

// anaphora are words that usually point back into the conversation.
var anaphora = set(`it its it's that this these those they them their there one ones same such also and else more
other another`)

func set(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

func contentWords(s string) []string {
	var out []string
	for _, w := range words(s) {
		if !stopWords[w] && utf8.RuneCountInString(w) > 1 {
			out = append(out, w)
		}
	}
	return out
}

// isFollowUp guesses whether q leans on the conversation: it is short, or
// starts with a conjunction, or points back with a pronoun.
func isFollowUp(q string) bool {
	ws := words(q)
	if len(ws) == 0 {
		return false
	}
	if len(contentWords(q)) <= 2 {
		return true
	}
	for _, w := range ws {
		if anaphora[w] {
			return true
		}
	}
	return false
}

// lastUserTurn is the most recent user message in history: the
// standalone question it was searched with when known (so a chain of
// follow-ups keeps its topic), else its text.
func lastUserTurn(history []store.Turn) (string, bool) {
	for i := len(history) - 1; i >= 0; i-- {
		if t := history[i]; t.Role == store.RoleUser {
			if t.Query != "" {
				return t.Query, true
			}
			return t.Text, true
		}
	}
	return "", false
}

// expandQuery appends the previous user turn's content words that q does
// not already have (at most max), so "and how long is it valid?" after
// "how do I get a refund?" retrieves with "refund" in mind. No LLM.
func expandQuery(q string, history []store.Turn, max int) string {
	prev, ok := lastUserTurn(history)
	if !ok {
		return q
	}
	have := map[string]bool{}
	for _, w := range words(q) {
		have[w] = true
	}
	var add []string
	for _, w := range contentWords(prev) {
		if !have[w] && len(add) < max {
			have[w] = true
			add = append(add, w)
		}
	}
	if len(add) == 0 {
		return q
	}
	return q + " " + strings.Join(add, " ")
}

// cleanRewrite accepts the LLM's standalone question only when it looks
// like one: a single non-empty line of sane length.
func cleanRewrite(out, q string) (string, bool) {
	out = strings.TrimSpace(out)
	if i := strings.IndexByte(out, '\n'); i >= 0 {
		out = strings.TrimSpace(out[:i])
	}
	out = strings.Trim(out, "\"'` ")
	if strings.HasPrefix(strings.ToLower(out), "standalone question:") {
		out = strings.TrimSpace(out[len("standalone question:"):])
	}
	limit := 3*len(q) + 120
	if len(words(out)) == 0 || len(out) > limit || !utf8.ValidString(out) {
		return "", false
	}
	return out, true
}
