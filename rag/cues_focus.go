package rag

import (
	"regexp"
	"strings"
	"unicode"
)

// A duration or a point in time in a question that does not ask for one
// tells the circumstances, not the topic: in "my kettle is broken after 3
// months, what can I do?" the words "3 months" pulled the filter
// subscription page ("every month", "per month", "billed monthly") above
// the warranty page. circumstanceRE finds such phrases in the languages
// with canned texts (en, de, fr, es, pt, it), lower-case.
var circumstanceRE = regexp.MustCompile(
	`\b(?:after|for|within|since|over|in|nach|seit|innerhalb|après|depuis|pendant|después de|hace|desde|durante|depois de|há|dopo|da)\s+` +
		`(?:(?:only|just|about|almost|nearly|over|more than|less than|erst|fast|über|presque|plus de|casi|más de|quase|mais de|quasi|più di)\s+)?` +
		`(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|a few|few|several|a couple of|einem|einer|zwei|drei|vier|un|une|deux|trois|quatre|uno|una|dos|tres|cuatro|um|uma|dois|duas|três|quatro|due|tre|quattro)\s+` +
		`(?:minutes?|hours?|days?|weeks?|months?|years?|minuten|stunden?|tagen?|tag|wochen?|monaten?|monat|jahren?|jahr|` +
		`jours?|semaines?|mois|ans?|années?|minutos?|horas?|días?|dias?|semanas?|meses|mes|años?|anos?|minuti|ore|giorni|giorno|settimane?|mesi|mese|anni|anno)\b` +
		`|\b(?:\d+|a|an|one|two|three|four|five|six|a few|several)\s+(?:minutes?|hours?|days?|weeks?|months?|years?)\s+(?:ago|later)\b` +
		`|\b(?:last|this|past)\s+(?:week|month|year|weekend)\b|\byesterday\b`)

// retrievalQuery is the question as retrieval reads it: without the
// circumstances of time when it does not ask about time (a "when", "how
// long" or "how much" question keeps them: they may be what it asks), and
// as it is when nothing else would be left.
func retrievalQuery(question string) string {
	if c := cueOf(question); c == cueTime || c == cueAmount || c == cueHours {
		return question
	}
	lower := strings.ToLower(question)
	locs := circumstanceRE.FindAllStringIndex(lower, -1)
	if len(locs) == 0 {
		return question
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		// Lower-casing keeps byte offsets for the scripts these phrases
		// are written in; a question where it does not is left as it is.
		if len(lower) != len(question) {
			return question
		}
		b.WriteString(question[last:l[0]])
		b.WriteByte(' ')
		last = l[1]
	}
	b.WriteString(question[last:])
	out := strings.Join(strings.Fields(b.String()), " ")
	if !strings.ContainsFunc(out, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return question
	}
	return out
}
