package rag

import (
	"regexp"
	"strings"

	"github.com/chatbot/chatbot/embed"
)

// questionCue is what kind of fact a question asks for, beyond its words:
// a yes/no question is answered by a sentence that says yes or no (often a
// negation: "We do not ship to the United States"), "how much" by an
// amount, "when" and "how long" by a time or duration.
type questionCue int

const (
	cueNone questionCue = iota
	cueYesNo
	cueAmount
	cueTime
	// The contact cues ask for a kind of fact a sentence can hold without
	// sharing a word with the question ("what are your opening hours?" is
	// answered by "available Monday to Friday from 9:00 to 17:00"), so
	// they count without a matched term (strongCueBonus) and lift the
	// passages that hold such a fact at retrieval (boostCues).
	cueHours // opening or support hours: clock times, weekdays
	cuePhone // a phone number
	cueEmail // an e-mail address
)

// strong reports whether a cue is one of the contact cues above.
func (c questionCue) strong() bool { return c == cueHours || c == cuePhone || c == cueEmail }

// cueBonus is added to a sentence's score (the share of the question's
// terms it holds, 0..1) when it carries what the question's cue asks for:
// enough to decide between sentences that match the same words, less than
// one more matched term of a short question.
const cueBonus = 0.2

// strongCueBonus is added for a contact cue, matched terms or not: a
// sentence with the phone number asked for answers better than one that
// shares a word of the question and holds no number.
const strongCueBonus = 0.6

// Question openings per cue, lower-case, in the languages with canned
// texts (en, de, fr, es, pt, it); matched at the start of the question
// (after "¿").
var (
	amountCues = []string{"how much", "how many", "what does it cost", "what is the price", "price", "cost",
		"wie viel", "wieviel", "was kostet", "combien", "quel est le prix", "cuánto", "cuanto", "cuánta", "cuántos",
		"quanto", "quanta", "quantos", "quanti"}
	timeCues = []string{"when", "how long", "what time", "until when", "wann", "wie lange", "quand", "combien de temps",
		"cuándo", "cuando", "cuánto tiempo", "quando", "quanto tempo", "a que horas", "a qué hora"}
	yesNoCues = []string{"do ", "does ", "did ", "can ", "could ", "is ", "are ", "will ", "would ", "should ", "may ", "have ", "has ",
		"kann ", "können ", "gibt es ", "ist ", "sind ", "est-ce que ", "puis-je ", "peut-on ", "puedo ", "pueden ", "se puede ",
		"hay ", "posso ", "pode ", "podem ", "è possibile ", "si può "}
)

// negation and affirmation words of those languages; a yes/no question is
// answered by a sentence holding one of them.
var yesNoWords = map[string]bool{
	"not": true, "no": true, "never": true, "cannot": true, "don": true, "doesn": true, "isn": true, "aren": true, "won": true, "yes": true,
	"only": true, "nicht": true, "kein": true, "keine": true, "nie": true, "ja": true, "nein": true, "pas": true, "jamais": true,
	"oui": true, "non": true, "nunca": true, "sí": true, "não": true, "sim": true, "mai": true,
}

var (
	amountRE = regexp.MustCompile(`\d|[€$£¥₽]|\b(?:free|gratis|gratuit|kostenlos|gratuito)\b`)
	timeRE   = regexp.MustCompile(`\d|\b(?:day|days|hour|hours|week|weeks|month|months|year|years|minute|minutes|monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekday|weekdays|weekend|today|tomorrow|immediately|instantly)\b`)
)

// cueOf classifies a question by its opening words, or by the contact
// detail it asks for.
func cueOf(question string) questionCue {
	q := strings.TrimLeft(strings.ToLower(strings.TrimSpace(question)), "¿¡ ")
	has := func(list []string) bool {
		for _, c := range list {
			if strings.HasPrefix(q, c) || (len(c) > 4 && strings.Contains(q, " "+c+" ")) {
				return true
			}
		}
		return false
	}
	if c := contactCue(q, has(timeCues), has(amountCues)); c != cueNone {
		return c
	}
	switch {
	case has(timeCues):
		return cueTime
	case has(amountCues):
		return cueAmount
	case has(yesNoCues):
		return cueYesNo
	}
	return cueNone
}

// carriesCue reports whether a sentence holds what the cue asks for.
func carriesCue(cue questionCue, sentence string) bool {
	switch cue { // case does not matter to these two: no lower-casing
	case cuePhone:
		return hasPhoneNumber(sentence)
	case cueEmail:
		return hasEmailAddress(sentence)
	}
	s := strings.ToLower(sentence)
	switch cue {
	case cueAmount:
		return amountRE.MatchString(s)
	case cueTime:
		return timeRE.MatchString(s)
	case cueHours:
		return hasOpeningHours(s)
	case cueYesNo:
		for _, w := range embed.Words(s) {
			if yesNoWords[w] {
				return true
			}
		}
		return strings.Contains(s, "n't")
	}
	return false
}
