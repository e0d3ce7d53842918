package livechat

import (
	"slices"
	"strings"
	"unicode"
)

// DefaultPhrases are the requests for a human that open a live chat, in
// English and the other languages of the engine's fixed replies
// (detection_lang.go).
// Articles are ignored on both sides, so "talk to agent" also matches
// "talk to an agent" and "talk to the agent".
var DefaultPhrases = append([]string{
	"talk to agent", "talk to a human", "talk to a person", "talk to someone", "talk to a real person",
	"speak to agent", "speak to a human", "speak to a person", "speak to someone",
	"speak with agent", "speak with a human", "talk with a human", "chat with a human", "chat with agent",
	"connect me to agent", "connect me with agent", "transfer me to agent",
	"want a human", "want a person", "want agent", "need a human", "need a person", "need agent",
	"get a human", "get agent", "real human",
	"live chat", "live agent", "live person", "real person", "human agent", "human being",
	"customer service representative", "agent please", "human please", "operator please",
}, otherPhrases...)

// DefaultAloneWords open a live chat only when they are the whole message
// (politeness aside): "agent", "Human please!", but not "is the agent
// field required?".
var DefaultAloneWords = append([]string{"agent", "human", "operator", "representative", "person"}, otherAloneWords...)

// Detector decides whether a message asks for a human. It matches phrases
// on normalised text at word boundaries and skips negated mentions.
//
// Normalisation: lower case; ’ and ` become '; the common negative
// contractions are expanded (don't -> do not, can't -> can not, won't ->
// will not, dont -> do not, ...); every run of characters that are neither
// letters nor digits ends a word; the articles a, an and the are dropped.
// A phrase matches a run of whole words, so "live chat" never matches
// "deliver chatter"; punctuation between them is allowed ("agent, please").
//
// Negation: a match is skipped only when a negation (not, no, never,
// nobody, without, nor) in the same clause governs the request (clauses end
// at . , ; : ! ? and at "but"). A negation governs the word it stands right
// before, after adverbs such as "really" or "even" and after "think I",
// "believe we" and the like. The request is refused when that word is the
// start of the match ("no, not a real person", "I won't talk to a human")
// or a verb of asking (want, need, talk, speak, ...) from which only small
// connecting words (to, for, with, me, ...) lead to the match ("I do not
// want to talk to an agent", "no need for a real person", "I don't think I
// need a human"). A negation of something else in the same clause does not
// count: "this is not helpful I want to talk to a human" and "your bot is
// not working i need a human" ask for a human. "can not"/"could not" is
// inability, not refusal ("why can't I talk to a human?"), and still
// triggers, and so does "if not" ("are you a bot? if not connect me to an
// agent").
//
// A question whether the bot itself is a person ("Are you a real person?",
// "is this a live chat?", "am I talking to a real person?") is not a
// request: the bot answers it, and its answer offers a human when it has
// nothing better. The first match that is neither negated nor such a
// question wins.
type Detector struct {
	phrases [][]string
	alone   map[string]bool
}

// NewDetector builds a detector from phrases (DefaultPhrases when empty) and
// alone words (DefaultAloneWords when nil; pass an empty non-nil slice for
// none). Phrases that normalise to nothing are ignored.
func NewDetector(phrases, alone []string) *Detector {
	if len(phrases) == 0 {
		phrases = DefaultPhrases
	}
	if alone == nil {
		alone = DefaultAloneWords
	}
	d := &Detector{alone: map[string]bool{}}
	for _, p := range phrases {
		words := normalise(p)
		words = slicesDelete(words, clauseEnd)
		if len(words) > 0 {
			d.phrases = append(d.phrases, words)
		}
	}
	for _, w := range alone {
		for _, word := range slicesDelete(normalise(w), clauseEnd) {
			d.alone[word] = true
		}
	}
	return d
}

// Match is a detected request for a human.
type Match struct {
	Phrase string // the configured phrase, normalised
}

// Detect reports whether text asks for a human, and which phrase matched.
func (d *Detector) Detect(text string) (Match, bool) {
	words := normalise(text)
	if w, ok := d.aloneWord(words); ok {
		return Match{Phrase: w}, true
	}
	for i := range words {
		for _, p := range d.phrases {
			if !hasPrefixWords(words[i:], p) || negated(words, i) || aboutTheBot(words[:i]) {
				continue
			}
			return Match{Phrase: strings.Join(p, " ")}, true
		}
	}
	return Match{}, false
}

// politeness words do not count against an alone word.
var politeness = wordSet("please pls plz now hi hello hey " + otherPoliteness)

func (d *Detector) aloneWord(words []string) (string, bool) {
	found := ""
	for _, w := range words {
		switch {
		case w == clauseEnd || politeness[w]:
		case d.alone[w] && found == "":
			found = w
		default:
			return "", false
		}
	}
	return found, found != ""
}

var negations = wordSet("not no never nobody without nor " + otherNegations)

// clauseBreakers end the clause a negation reaches, as punctuation does.
var clauseBreakers = wordSet("but " + otherClauseBreakers)

// conditions before "not" make it a condition, not a refusal.
var conditions = wordSet("if " + otherConditions)

// inability: "can not" in English; in German and French a modal earlier
// in the clause (abilityModals).
var inability = wordSet("can could " + abilityModals)

// requestVerbs ask for something; a negation that governs one refuses the
// request that follows it.
var requestVerbs = wordSet("want wants wanted wanna need needs needed talk talking speak speaking chat chatting " +
	"connect transfer get like ask asked asking require request requested " + otherRequestVerbs)

// negationFillers may stand between a negation and the word it governs:
// "not really want", "never even asked".
var negationFillers = wordSet("really even ever actually necessarily exactly yet just")

// raisingVerbs pass a negation on to the clause they introduce: "I don't
// think I need a human" refuses the human. They may be followed by one of
// raisedSubjects.
var raisingVerbs = wordSet("think believe suppose guess feel expect")
var raisedSubjects = wordSet("i we that")

// requestLinks may stand between a negated verb of asking and the match:
// "do not want to talk to", "no need for", "don't need help from".
var requestLinks = wordSet("to for with from me us you be able any help some more again just really " + otherRequestLinks)

// maxRequestLinks bounds how far a negated verb reaches: "not want to be
// able to talk to" is as far as it goes.
const maxRequestLinks = 4

// negated reports whether a negation in the clause before the match at
// words[start] governs the request (see Detector).
func negated(words []string, start int) bool {
	for i := start - 1; i >= 0; i-- {
		w := words[i]
		if w == clauseEnd || clauseBreakers[w] {
			return false
		}
		if !negations[w] {
			continue
		}
		if i > 0 && inability[words[i-1]] {
			continue // inability ("why can't I talk to a human"), still a request
		}
		if (w == "nicht" || w == "pas") && modalBefore(words, i) {
			continue // inability ("warum kann ich nicht mit einem Menschen sprechen?")
		}
		if i > 0 && conditions[words[i-1]] {
			continue // a condition ("are you a bot? if not connect me to an agent")
		}
		if governs(words, i, start) {
			return true
		}
	}
	return false
}

// modalBefore reports whether a German or French modal of ability stands
// earlier in the clause of words[neg]: "kann ich nicht", "je ne peux pas".
func modalBefore(words []string, neg int) bool {
	for i := neg - 1; i >= 0 && words[i] != clauseEnd && !clauseBreakers[words[i]]; i-- {
		if inability[words[i]] && words[i] != "can" && words[i] != "could" {
			return true
		}
	}
	return false
}

// governs reports whether the negation at words[neg] refuses the match at
// words[start].
func governs(words []string, neg, start int) bool {
	g := neg + 1
	skip := func(set map[string]bool, most int) {
		for n := 0; n < most && g < start && set[words[g]]; n++ {
			g++
		}
	}
	skip(negationFillers, 2)
	if g < start && raisingVerbs[words[g]] {
		g++
		skip(raisedSubjects, 1)
		skip(negationFillers, 2)
	}
	if g == start {
		return true
	}
	if g > start || !requestVerbs[words[g]] || start-g-1 > maxRequestLinks {
		return false
	}
	for _, w := range words[g+1 : start] {
		if !requestLinks[w] {
			return false
		}
	}
	return true
}

// botQuestions are the clause openings that ask what the bot is, when
// they come right before a match: "are you a real person?".
var botQuestions = append([][]string{
	{"are", "you"}, {"r", "u"}, {"is", "this"}, {"is", "it"}, {"is", "that"},
	{"am", "i", "talking", "to"}, {"am", "i", "talking", "with"}, {"am", "i", "speaking", "to"},
	{"am", "i", "speaking", "with"}, {"am", "i", "chatting", "with"}, {"am", "i", "chatting", "to"},
}, otherBotQuestions...)

// aboutTheBot reports whether before ends with a question about the bot
// itself (adverbs such as "really" allowed after it): "hello, are you a
// real person?", "is this really a live chat".
func aboutTheBot(before []string) bool {
	end := len(before)
	for end > 0 && negationFillers[before[end-1]] {
		end--
	}
	for _, q := range botQuestions {
		if end >= len(q) && slices.Equal(before[end-len(q):end], q) {
			return true
		}
	}
	return false
}

func wordSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// hasPrefixWords reports whether words start with prefix. Punctuation
// between the phrase's words is allowed ("agent, please").
func hasPrefixWords(words, prefix []string) bool {
	i := 0
	for j, p := range prefix {
		for j > 0 && i < len(words) && words[i] == clauseEnd {
			i++
		}
		if i >= len(words) || words[i] != p {
			return false
		}
		i++
	}
	return true
}

// clauseEnd is the token normalise emits for . , ; : ! ? and line breaks.
const clauseEnd = "\x00"

var contractions = map[string][]string{
	"don't": {"do", "not"}, "dont": {"do", "not"}, "doesn't": {"does", "not"}, "doesnt": {"does", "not"},
	"didn't": {"did", "not"}, "didnt": {"did", "not"}, "can't": {"can", "not"}, "cant": {"can", "not"},
	"cannot": {"can", "not"}, "couldn't": {"could", "not"}, "couldnt": {"could", "not"},
	"won't": {"will", "not"}, "wont": {"will", "not"}, "wouldn't": {"would", "not"}, "wouldnt": {"would", "not"},
	"isn't": {"is", "not"}, "isnt": {"is", "not"}, "aren't": {"are", "not"}, "arent": {"are", "not"},
	"wasn't": {"was", "not"}, "shouldn't": {"should", "not"}, "shouldnt": {"should", "not"},
	"haven't": {"have", "not"}, "havent": {"have", "not"}, "hasn't": {"has", "not"}, "needn't": {"need", "not"},
	"mustn't": {"must", "not"}, "ain't": {"am", "not"},
}

var articles = wordSet("a an the " + otherArticles)

// normalise splits text into lower-case words as described on Detector,
// with clauseEnd tokens at clause punctuation.
func normalise(text string) []string {
	var words []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() == 0 {
			return
		}
		w := strings.Trim(cur.String(), "'")
		cur.Reset()
		if exp, ok := contractions[w]; ok {
			words = append(words, exp...)
			return
		}
		// Other apostrophes (it's, user's) split into words.
		for part := range strings.SplitSeq(w, "'") {
			if part != "" && !articles[part] {
				words = append(words, part)
			}
		}
	}
	for _, r := range text {
		if f, ok := arabicFold[r]; ok {
			if f != 0 {
				cur.WriteRune(f)
			}
			continue
		}
		switch {
		case r == '\'' || r == '’' || r == '‘' || r == '`' || r == 'ʼ':
			cur.WriteRune('\'')
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur.WriteRune(unicode.ToLower(r))
		default:
			flush()
			if strings.ContainsRune(".,;:!?\n¿¡…،؛؟", r) && (len(words) == 0 || words[len(words)-1] != clauseEnd) {
				words = append(words, clauseEnd)
			}
		}
	}
	flush()
	return words
}

// arabicFold folds the Arabic letter forms customers type interchangeably
// (alef with hamza or madda, alef maqsura, teh marbuta) and drops short
// vowels and tatweel (0), which would otherwise split or change a word.
var arabicFold = func() map[rune]rune {
	m := map[rune]rune{'أ': 'ا', 'إ': 'ا', 'آ': 'ا', 'ٱ': 'ا', 'ى': 'ي', 'ة': 'ه', 'ـ': 0}
	for r := rune(0x064B); r <= 0x065F; r++ {
		m[r] = 0
	}
	m[0x0670] = 0
	return m
}()

func slicesDelete(words []string, drop string) []string {
	out := words[:0]
	for _, w := range words {
		if w != drop {
			out = append(out, w)
		}
	}
	return out
}
