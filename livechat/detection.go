package livechat

import (
	"strings"
	"unicode"
)

// DefaultPhrases are the requests for a human that open a live chat.
// Articles are ignored on both sides, so "talk to agent" also matches
// "talk to an agent" and "talk to the agent".
var DefaultPhrases = []string{
	"talk to agent", "talk to a human", "talk to a person", "talk to someone", "talk to a real person",
	"speak to agent", "speak to a human", "speak to a person", "speak to someone",
	"speak with agent", "speak with a human", "talk with a human", "chat with a human", "chat with agent",
	"connect me to agent", "connect me with agent", "transfer me to agent",
	"want a human", "want a person", "want agent", "need a human", "need a person", "need agent",
	"get a human", "get agent", "real human",
	"live chat", "live agent", "live person", "real person", "human agent", "human being",
	"customer service representative", "agent please", "human please", "operator please",
}

// DefaultAloneWords open a live chat only when they are the whole message
// (politeness aside): "agent", "Human please!", but not "is the agent
// field required?".
var DefaultAloneWords = []string{"agent", "human", "operator", "representative", "person"}

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
// Negation: a match is skipped when one of not, no, never, nobody, without
// or nor stands at most NegationWindow words before it in the same clause
// (clauses end at . , ; : ! ? and at "but"). So "I do not want to talk to
// an agent" and "no need for a real person" do not trigger, while "No, I
// want to talk to an agent" and "I don't know, can I talk to a human?" do.
// "can not"/"could not" is inability, not refusal ("why can't I talk to a
// human?"), and still triggers. The first un-negated match wins.
type Detector struct {
	phrases [][]string
	alone   map[string]bool
	window  int
}

// NegationWindow is how many words before a match are searched for a negation.
const NegationWindow = 5

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
	d := &Detector{alone: map[string]bool{}, window: NegationWindow}
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
			if !hasPrefixWords(words[i:], p) || d.negated(words[:i]) {
				continue
			}
			return Match{Phrase: strings.Join(p, " ")}, true
		}
	}
	return Match{}, false
}

// politeness words do not count against an alone word.
var politeness = map[string]bool{"please": true, "pls": true, "plz": true, "now": true, "hi": true, "hello": true, "hey": true}

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

var negations = map[string]bool{"not": true, "no": true, "never": true, "nobody": true, "without": true, "nor": true}

// negated reports whether the words just before a match (before) hold a
// negation within the window and the same clause.
func (d *Detector) negated(before []string) bool {
	for n, i := 0, len(before)-1; i >= 0 && n < d.window; i-- {
		w := before[i]
		if w == clauseEnd || w == "but" {
			return false
		}
		n++
		if !negations[w] {
			continue
		}
		if w == "not" && i > 0 && (before[i-1] == "can" || before[i-1] == "could") {
			continue // inability ("why can't I talk to a human"), still a request
		}
		return true
	}
	return false
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

var articles = map[string]bool{"a": true, "an": true, "the": true}

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
		switch {
		case r == '\'' || r == '’' || r == '‘' || r == '`' || r == 'ʼ':
			cur.WriteRune('\'')
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur.WriteRune(unicode.ToLower(r))
		default:
			flush()
			if strings.ContainsRune(".,;:!?\n¿¡…", r) && (len(words) == 0 || words[len(words)-1] != clauseEnd) {
				words = append(words, clauseEnd)
			}
		}
	}
	flush()
	return words
}

func slicesDelete(words []string, drop string) []string {
	out := words[:0]
	for _, w := range words {
		if w != drop {
			out = append(out, w)
		}
	}
	return out
}
