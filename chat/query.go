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

type smallTalkKind int

const (
	notSmallTalk smallTalkKind = iota
	greeting
	thanks
	goodbye
)

// smallTalkWords maps the words of greetings, thanks and goodbyes (in a
// few languages) to their kind and language; fillers may accompany them.
var smallTalkWords = map[string]struct {
	kind smallTalkKind
	lang string
}{
	"hi": {greeting, "en"}, "hello": {greeting, "en"}, "hey": {greeting, "en"}, "morning": {greeting, "en"},
	"afternoon": {greeting, "en"}, "evening": {greeting, "en"}, "hallo": {greeting, "de"}, "moin": {greeting, "de"},
	"servus": {greeting, "de"}, "tag": {greeting, "de"}, "bonjour": {greeting, "fr"}, "salut": {greeting, "fr"},
	"hola": {greeting, "es"}, "buenos": {greeting, "es"}, "días": {greeting, "es"}, "ciao": {greeting, "it"},
	"thanks": {thanks, "en"}, "thank": {thanks, "en"}, "thx": {thanks, "en"}, "ty": {thanks, "en"},
	"cheers": {thanks, "en"}, "danke": {thanks, "de"}, "merci": {thanks, "fr"}, "gracias": {thanks, "es"},
	"grazie": {thanks, "it"}, "obrigado": {thanks, "pt"}, "obrigada": {thanks, "pt"},
	"bye": {goodbye, "en"}, "goodbye": {goodbye, "en"}, "tschüss": {goodbye, "de"}, "adiós": {goodbye, "es"},
}

var smallTalkFillers = set(`there good guten you so much a lot very many again all team everyone folks ok okay great
schön sehr beaucoup muchas mille see later`)

// smallTalk classifies a message made only of greeting, thanks or goodbye
// words (plus fillers and the bot's name); it returns the language of the
// first such word.
func smallTalk(q, botName string) (smallTalkKind, string) {
	ws := words(q)
	if len(ws) == 0 || len(ws) > 6 {
		return notSmallTalk, ""
	}
	name := map[string]bool{}
	for _, w := range words(botName) {
		name[w] = true
	}
	kind, lang := notSmallTalk, ""
	for _, w := range ws {
		if st, ok := smallTalkWords[w]; ok {
			if kind == notSmallTalk || st.kind == thanks { // "hi, thanks" is thanks
				kind, lang = st.kind, st.lang
			}
			continue
		}
		if !smallTalkFillers[w] && !name[w] {
			return notSmallTalk, ""
		}
	}
	return kind, lang
}

var smallTalkReplies = map[smallTalkKind]map[string]string{
	greeting: {
		"en": "Hello! I'm %s. How can I help you today?",
		"de": "Hallo! Ich bin %s. Wie kann ich helfen?",
		"fr": "Bonjour ! Je suis %s. Comment puis-je vous aider ?",
		"es": "¡Hola! Soy %s. ¿En qué puedo ayudarte?",
	},
	thanks: {
		"en": "You're welcome! Is there anything else I can help you with?",
		"de": "Gern geschehen! Kann ich sonst noch helfen?",
		"fr": "Avec plaisir ! Puis-je vous aider pour autre chose ?",
		"es": "¡De nada! ¿Puedo ayudarte con algo más?",
	},
	goodbye: {
		"en": "Goodbye! Come back any time.",
		"de": "Tschüss! Melden Sie sich jederzeit wieder.",
		"es": "¡Adiós! Vuelve cuando quieras.",
	},
}

func smallTalkReply(kind smallTalkKind, lang, botName string) string {
	replies := smallTalkReplies[kind]
	r, ok := replies[lang]
	if !ok {
		r = replies["en"]
	}
	if strings.Contains(r, "%s") {
		return strings.Replace(r, "%s", botName, 1)
	}
	return r
}

// functionWords are frequent short words of each language the canned
// replies speak; guessLanguage counts them.
var functionWords = map[string]map[string]bool{
	"de": set(`und ich wie der die das den dem nicht ist mein meine meinen sie zu kann ein eine einen mit für auf wo was wann
warum bitte habe es bei mich mir wird werden gibt kein keine noch auch ihr ihre`),
	"fr": set(`je le la les est comment mon ma mes pas vous et un une des pour avec où quand pourquoi puis du que qui ne
est-ce mot sur dans au aux votre vos`),
	"es": set(`el la los las cómo mi mis es no que y para puedo un una con por dónde cuándo qué del se mí tengo está
hay su sus usted`),
}

// guessLanguage guesses the language of text among en, de, fr and es from
// function words: a clear winner with two hits or more, else "en". It only
// picks the language of the engine's own fixed replies; LLM answers follow
// the user's language by instruction.
func guessLanguage(text string) string {
	best, bestN, tie := "en", 1, false
	counts := map[string]int{}
	for _, w := range words(text) {
		for lang, fw := range functionWords {
			if fw[w] {
				counts[lang]++
			}
		}
	}
	for _, lang := range []string{"de", "fr", "es"} {
		switch n := counts[lang]; {
		case n > bestN:
			best, bestN, tie = lang, n, false
		case n == bestN && n > 1:
			tie = true
		}
	}
	if tie {
		return "en"
	}
	return best
}

// Canned replies the engine gives without an LLM.
const (
	replyNoAnswer = iota // nothing relevant; offers a human
	replyTrouble         // retrieval failed
	replySlow            // the deadline passed while waiting
)

var cannedReplies = map[int]map[string]string{
	replyNoAnswer: {
		"en": noAnswerText,
		"de": "Dazu habe ich in unserer Dokumentation nichts Passendes gefunden. Möchten Sie mit einem Mitarbeiter sprechen? Antworten Sie einfach \"talk to an agent\".",
		"fr": "Je n'ai rien trouvé de pertinent dans notre documentation. Voulez-vous parler à un conseiller ? Répondez simplement \"talk to an agent\".",
		"es": "No encontré nada relevante en nuestra documentación. ¿Quiere hablar con un agente? Responda simplemente \"talk to an agent\".",
	},
	replyTrouble: {
		"en": troubleText,
		"de": "Entschuldigung, ich kann das gerade nicht nachschlagen. Ein Mitarbeiter meldet sich hier bei Ihnen.",
		"fr": "Désolé, je ne peux pas vérifier cela pour le moment. Un conseiller vous répondra ici.",
		"es": "Lo siento, ahora no puedo consultarlo. Un agente le responderá aquí.",
	},
	replySlow: {
		"en": slowText,
		"de": "Entschuldigung, das dauert zu lange. Ein Mitarbeiter meldet sich hier bei Ihnen.",
		"fr": "Désolé, cela prend trop de temps. Un conseiller vous répondra ici.",
		"es": "Lo siento, esto está tardando demasiado. Un agente le responderá aquí.",
	},
}

// canned is a fixed reply in the language of text.
func canned(kind int, text string) string {
	return cannedReplies[kind][guessLanguage(text)]
}
