package rag

import (
	"regexp"
	"slices"
	"strings"

	"github.com/chatbot/chatbot/embed"
)

// Contact questions in the languages with canned texts (en, de, fr, es,
// pt, it), lower-case. A question about the customer's own details ("my
// email", "my phone number") is not one: it is about their account.
var (
	// hoursPhrases ask for opening or support hours wherever they stand.
	hoursPhrases = []string{"opening hours", "opening times", "business hours", "office hours", "support hours",
		"service hours", "are you open", "your hours", "öffnungszeiten", "geschäftszeiten", "sprechzeiten",
		"horaires", "heures d'ouverture", "horario", "horarios", "horário", "horários", "orari", "orario"}
	// openWords make a time question ("when", "what time") one about hours.
	openWords = map[string]bool{"open": true, "opens": true, "opening": true, "close": true, "closes": true, "closed": true,
		"available": true, "reach": true, "call": true, "phone": true, "ring": true, "contact": true,
		"geöffnet": true, "offen": true, "erreichbar": true, "anrufen": true, "ouvert": true, "ouvre": true, "ouverts": true,
		"joindre": true, "appeler": true, "abre": true, "abren": true, "abierto": true, "abiertos": true, "llamar": true,
		"aberto": true, "abertos": true, "ligar": true, "aperto": true, "aperti": true, "chiamare": true}
	phoneWords = map[string]bool{"phone": true, "telephone": true, "hotline": true, "telefon": true, "telefonnummer": true,
		"téléphone": true, "teléfono": true, "telefone": true, "telefono": true}
	// callWords ask for a number to call only when the question says
	// whom (addressWords): "will you call me" is not one.
	callWords = map[string]bool{"call": true, "ring": true, "anrufen": true, "appeler": true, "llamar": true, "ligar": true, "chiamare": true}
	// calledWords: the customer is the one called ("call me back").
	calledWords = map[string]bool{"me": true, "mich": true, "mir": true, "moi": true, "mim": true}
	emailWords  = map[string]bool{"email": true, "mail": true, "correo": true, "courriel": true}
	// addressWords say the company is the one addressed, or that an
	// address is asked for: "your email address", "email you", "call
	// support"; "how long until I get a confirmation email" is not one.
	addressWords = map[string]bool{"you": true, "your": true, "us": true, "support": true, "service": true, "someone": true,
		"somebody": true, "anyone": true, "team": true, "address": true, "sie": true, "ihnen": true, "ihre": true,
		"adresse": true, "kundenservice": true, "kundendienst": true, "vous": true, "votre": true, "usted": true,
		"ustedes": true, "vosotros": true, "vuestro": true, "dirección": true, "soporte": true, "você": true,
		"vocês": true, "endereço": true, "voi": true, "vostro": true, "indirizzo": true, "assistenza": true}
	ownWords = map[string]bool{"my": true, "mein": true, "meine": true, "meiner": true, "mon": true, "ma": true,
		"mes": true, "mi": true, "mis": true, "meu": true, "minha": true, "mio": true, "mia": true}
)

// contactCue returns the contact cue of a lower-case question, or
// cueNone. isTime and isAmount: it opens like a time or an amount
// question ("how much does a call cost" asks for a price).
func contactCue(q string, isTime, isAmount bool) questionCue {
	words := embed.Words(q)
	any := func(set map[string]bool) bool {
		for _, w := range words {
			if set[w] {
				return true
			}
		}
		return false
	}
	if isAmount || any(ownWords) {
		return cueNone
	}
	for _, p := range hoursPhrases {
		if strings.Contains(q, p) {
			return cueHours
		}
	}
	switch {
	case isTime && any(openWords):
		return cueHours
	case isTime:
		return cueNone
	case any(phoneWords) || (any(callWords) && any(addressWords) && !any(calledWords)):
		return cuePhone
	case any(emailWords) && any(addressWords):
		return cueEmail
	}
	return cueNone
}

// Opening hours are a range: of times of day ("9:00 to 17:00", "9 am -
// 5 pm", "10 bis 18 Uhr") or of weekdays ("Monday to Friday"), or round
// the clock; a single time ("orders placed before 14:00") is not.
const (
	clockTok   = `\d{1,2}(?::\d{2}\s?(?:am|pm|a\.m\.|p\.m\.|uhr|h)?|\s?(?:am|pm|a\.m\.|p\.m\.|uhr|h)\b)`
	clockStart = `\b\d{1,2}(?::\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.|uhr|h)?`
	rangeSep   = `\s*(?:-|–|—|to|till|until|through|bis|à|au|a|al|às|ao|alle|e|and|und|et|y)\s*`
	weekday    = `(?:mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|` +
		`montags?|dienstags?|mittwochs?|donnerstags?|freitags?|samstags?|sonntags?|` +
		`lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|lunes|martes|miércoles|jueves|viernes|sábados?|domingos?|` +
		`segunda(?:-feira)?|terça(?:-feira)?|quarta(?:-feira)?|quinta(?:-feira)?|sexta(?:-feira)?|` +
		`lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica)`
)

var (
	hoursRE = regexp.MustCompile(clockStart + rangeSep + clockTok + `|\b` + weekday + rangeSep + weekday + `\b|\b24/7\b|\b24 hours a day\b|round the clock|around the clock`)
	emailRE = regexp.MustCompile(`[\p{L}\d._%+-]+@[\p{L}\d-]+(?:\.[\p{L}\d-]+)+`)
	// phoneRE finds runs that may be phone numbers; hasPhoneNumber
	// counts their digits.
	phoneRE = regexp.MustCompile(`\+?\(?\d[\d ()./-]{5,}\d`)
	dateRE  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$|^\d{1,2}[./]\d{1,2}[./]\d{2,4}$`)
)

// weekdayStems are the weekday names hoursRE knows, without endings: a
// sentence holding none of them, no digit and no "the clock" cannot match
// it. The regular expressions were a tenth of the server's CPU under load
// when run on every candidate passage of a contact question.
var weekdayStems = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
	"montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag",
	"lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
	"lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo",
	"segunda", "terça", "quarta", "quinta", "sexta",
	"lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"}

// hasOpeningHours reports whether a lower-case sentence gives opening
// hours: a range of times of day or of weekdays.
func hasOpeningHours(s string) bool {
	if asciiDigits(s, 1) == 0 && !strings.Contains(s, "the clock") &&
		!slices.ContainsFunc(weekdayStems, func(w string) bool { return strings.Contains(s, w) }) {
		return false
	}
	return hoursRE.MatchString(s)
}

// asciiDigits counts the ASCII digits of s, stopping at limit.
func asciiDigits(s string, limit int) int {
	n := 0
	for i := 0; i < len(s) && n < limit; i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// hasEmailAddress reports whether a sentence holds an e-mail address.
func hasEmailAddress(s string) bool { return strings.IndexByte(s, '@') >= 0 && emailRE.MatchString(s) }

// hasPhoneNumber reports whether a sentence holds a phone number: a run
// of 7 to 15 digits, with separators, that is not a date.
func hasPhoneNumber(s string) bool {
	if asciiDigits(s, 7) < 7 {
		return false
	}
	for _, m := range phoneRE.FindAllString(s, -1) {
		m = strings.TrimSpace(m)
		if dateRE.MatchString(m) {
			continue
		}
		n := 0
		for _, r := range m {
			if r >= '0' && r <= '9' {
				n++
			}
		}
		if n >= 7 && n <= 15 {
			return true
		}
	}
	return false
}

// cueBoost is the share of the best candidate's score added to a passage
// that holds what a contact question asks for: the support hours share no
// word with "opening hours", and "valid for one hour" on the password page
// did; lifted by half the best score, such a passage comes among the
// first few and above the relevance threshold, while a passage that also
// matches the question's words still ranks above one that only holds a
// time or a number.
const cueBoost = 0.5

// boostCues lifts, in hybrid mode, the ranked candidates whose text holds
// the contact detail (opening hours, phone number, e-mail address) the
// query asks for, and sorts them again. Other questions and modes are
// ranked as fused: the lexical and vector sides stay what they measure.
// Called with ix.mu held for reading.
func (ix *Index) boostCues(query string, mode Mode, ranked []scored) []scored {
	if mode != ModeHybrid || len(ranked) == 0 {
		return ranked
	}
	cue := cueOf(query)
	if !cue.strong() {
		return ranked
	}
	lift := cueBoost * ranked[0].score
	for i := range ranked {
		if carriesCue(cue, ix.slots[ranked[i].slot].text) {
			ranked[i].score = min(ranked[i].score+lift, 1)
		}
	}
	sortScored(ranked)
	return ranked
}
