package chat

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/chatbot/chatbot/embed"
)

// Small talk: greetings, thanks, goodbyes and questions about the bot
// itself get a short, honest fixed reply in the user's language, without
// retrieval (whose passages would be noise for "hi").

type smallTalkKind int

const (
	notSmallTalk smallTalkKind = iota
	greeting
	thanks
	goodbye
	identity // "are you a real person?", "who am I talking to?"
)

// replyOf is the fixed reply of each kind of small talk.
var replyOf = map[smallTalkKind]cannedKind{greeting: replyGreeting, thanks: replyThanks, goodbye: replyGoodbye, identity: replyIdentity}

// foldWords splits s into lower-case words of letters and digits, without
// diacritics (é is e, ü is u; Arabic short vowels, hamza forms of alef and
// tatweel go), so that "etes vous" is "êtes-vous" and "انت" is "أنتَ":
// customers type both.
func foldWords(s string) []string {
	s = norm.NFD.String(strings.ToLower(s))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r), r == '\u0640': // combining marks, Arabic tatweel
			continue
		case r == 'ß':
			b.WriteString("ss")
			continue
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}

// smallTalkWords maps the words of greetings, thanks and goodbyes to their
// kind and language (keys folded as foldWords does); fillers may
// accompany them.
var smallTalkWords = func() map[string]struct {
	kind smallTalkKind
	lang embed.Lang
} {
	m := map[string]struct {
		kind smallTalkKind
		lang embed.Lang
	}{}
	add := func(kind smallTalkKind, lang embed.Lang, ws string) {
		for _, w := range foldWords(ws) {
			m[w] = struct {
				kind smallTalkKind
				lang embed.Lang
			}{kind, lang}
		}
	}
	add(greeting, embed.English, "hi hello hey hiya morning afternoon evening")
	add(greeting, embed.German, "hallo moin servus tag morgen abend grüezi")
	add(greeting, embed.French, "bonjour salut bonsoir coucou")
	add(greeting, embed.Spanish, "hola buenos buenas")
	add(greeting, embed.Portuguese, "olá oi bom boa")
	add(greeting, embed.Italian, "ciao buongiorno buonasera salve")
	add(greeting, embed.Arabic, "مرحبا مرحبًا أهلا السلام صباح مساء")
	add(thanks, embed.English, "thanks thank thx ty cheers")
	add(thanks, embed.German, "danke dankeschön dank")
	add(thanks, embed.French, "merci")
	add(thanks, embed.Spanish, "gracias")
	add(thanks, embed.Portuguese, "obrigado obrigada")
	add(thanks, embed.Italian, "grazie")
	add(thanks, embed.Arabic, "شكرا شكرًا مشكور")
	add(goodbye, embed.English, "bye goodbye")
	add(goodbye, embed.German, "tschüss tschüs wiedersehen")
	add(goodbye, embed.French, "revoir")
	add(goodbye, embed.Spanish, "adiós")
	add(goodbye, embed.Portuguese, "tchau")
	add(goodbye, embed.Italian, "arrivederci")
	add(goodbye, embed.Arabic, "وداعا السلامة")
	return m
}()

// smallTalkFillers may stand beside small-talk words ("thank you so
// much", "vielen Dank", "muchas gracias", "شكرا جزيلا").
var smallTalkFillers = foldSet(`there good guten you so much a lot very many again all team everyone folks ok okay great
schön sehr vielen herzlichen auf beaucoup au mille muchas hasta dia días tarde tardes noite noches muito muita tante
see later عليكم وسهلا الخير النور جزيلا مع`)

// identityPhrases ask who or what the bot is, by language (folded as
// foldWords does; articles and "or a human" may stand around them, see
// identityFillers).
var identityPhrases = func() map[embed.Lang][][]string {
	m := map[embed.Lang][][]string{}
	add := func(lang embed.Lang, phrases ...string) {
		for _, p := range phrases {
			m[lang] = append(m[lang], foldWords(p))
		}
	}
	add(embed.English, "are you a real person", "are you real", "are you a person", "are you human", "are you a human",
		"are you a bot", "are you a robot", "are you an ai", "are you a machine", "are you a computer", "are you automated",
		"is this a bot", "is this a real person", "is this a human", "is this automated",
		"am i talking to a bot", "am i talking to a human", "am i talking to a real person", "am i talking to a person",
		"am i chatting with a bot", "am i chatting with a human", "am i speaking to a human",
		"who am i talking to", "who am i speaking to", "who am i chatting with", "who are you", "what is your name")
	add(embed.German, "bist du ein mensch", "bist du ein echter mensch", "bist du ein bot", "bist du ein roboter", "bist du echt",
		"bist du eine ki", "sind sie ein mensch", "sind sie ein echter mensch", "sind sie ein bot", "sind sie ein roboter",
		"sind sie echt", "sind sie eine ki", "ist das ein bot", "ist das ein mensch", "mit wem spreche ich", "mit wem rede ich",
		"mit wem chatte ich", "wer bist du", "wer sind sie", "spreche ich mit einem menschen", "spreche ich mit einem bot",
		"rede ich mit einem menschen", "rede ich mit einem bot", "wie heißt du")
	add(embed.French, "êtes-vous un robot", "êtes-vous un bot", "êtes-vous humain", "êtes-vous un humain",
		"êtes-vous une vraie personne", "êtes-vous une ia", "es-tu un robot", "es-tu un bot", "es-tu humain",
		"es-tu une vraie personne", "tu es un robot", "vous êtes un robot", "c'est un robot", "c'est un bot",
		"qui êtes-vous", "qui es-tu", "à qui je parle", "à qui est-ce que je parle", "je parle à qui",
		"je parle à un robot", "je parle à un humain", "je parle à une vraie personne", "est-ce un robot")
	add(embed.Spanish, "eres un bot", "eres un robot", "eres humano", "eres una persona real", "eres real", "eres una persona",
		"eres una ia", "es usted un robot", "es usted humano", "usted es un robot", "quién eres", "quién es usted",
		"con quién hablo", "con quién estoy hablando", "estoy hablando con un robot", "estoy hablando con un bot",
		"estoy hablando con una persona", "es un bot", "es un robot", "cómo te llamas")
	add(embed.Portuguese, "você é um robô", "você é um bot", "você é humano", "você é uma pessoa real", "você é real",
		"você é uma ia", "vc é um robô", "vc é um bot", "é um robô", "é um bot", "é uma pessoa real", "quem é você",
		"quem é vc", "com quem estou falando", "com quem falo", "estou falando com um robô", "estou falando com um bot",
		"estou falando com uma pessoa", "qual é o seu nome")
	add(embed.Italian, "sei un bot", "sei un robot", "sei umano", "sei una persona vera", "sei una persona reale", "sei reale",
		"sei un'intelligenza artificiale", "è un bot", "è un robot", "lei è un robot", "chi sei", "chi è lei",
		"con chi sto parlando", "con chi parlo", "sto parlando con un robot", "sto parlando con un bot",
		"sto parlando con una persona", "come ti chiami")
	add(embed.Arabic, "هل أنت إنسان", "هل أنت روبوت", "هل أنت بوت", "هل أنت شخص حقيقي", "أنت روبوت", "أنت بوت", "أنت إنسان",
		"من أنت", "مع من أتحدث", "مع من أتكلم", "هل أتحدث مع إنسان", "هل أتحدث مع روبوت", "هل هذا روبوت", "هل هذا بوت", "ما اسمك")
	return m
}()

// identityFillers may surround an identity question ("hi, are you a real
// person or a bot?"); any other word makes the message a real question
// ("who is this product for?" is not about the bot).
var identityFillers = foldSet(`or a an the bot robot human person real ai machine chatbot automated actually really just
right now here please so ok okay hi hello hey there
oder ein eine echter mensch bot roboter eigentlich wirklich hallo
ou un une humain robot personne vraie vraiment bonjour
o un una humano persona real verdad de hola
ou um uma humano robô pessoa real mesmo olá oi
o un una umano persona vera reale davvero ciao
أو أم إنسان روبوت بوت حقيقي شخص مرحبا`)

func foldSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range foldWords(s) {
		m[w] = true
	}
	return m
}

// maxSmallTalkWords bounds a small-talk message: a longer one carries a
// question, which retrieval answers.
const maxSmallTalkWords = 12

// smallTalk classifies a message that is only small talk: made of
// greeting, thanks or goodbye words (plus fillers and the bot's name), or
// a question about the bot itself (an identity phrase with only fillers,
// greetings and the bot's name around it). It returns the language of the
// words that decided.
func smallTalk(q, botName string) (smallTalkKind, string) {
	ws := foldWords(q)
	if len(ws) == 0 || len(ws) > maxSmallTalkWords {
		return notSmallTalk, ""
	}
	name := map[string]bool{}
	for _, w := range foldWords(botName) {
		name[w] = true
	}
	if lang, ok := identityQuestion(ws, name); ok {
		return identity, string(lang)
	}
	if len(ws) > 6 {
		return notSmallTalk, ""
	}
	kind, lang := notSmallTalk, embed.Lang("")
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
	return kind, string(lang)
}

// identityQuestion finds the longest identity phrase in ws whose other
// words are all fillers, greetings or the bot's name.
func identityQuestion(ws []string, name map[string]bool) (embed.Lang, bool) {
	var best embed.Lang
	bestLen := 0
	for _, lang := range cannedLangs {
		for _, p := range identityPhrases[lang] {
			if len(p) <= bestLen {
				continue
			}
			at := indexWords(ws, p)
			if at < 0 {
				continue
			}
			ok := true
			for i, w := range ws {
				if i >= at && i < at+len(p) {
					continue
				}
				if _, greet := smallTalkWords[w]; !identityFillers[w] && !name[w] && !greet {
					ok = false
					break
				}
			}
			if ok {
				best, bestLen = lang, len(p)
			}
		}
	}
	return best, bestLen > 0
}

// indexWords is the position of the run of words p in ws, or -1.
func indexWords(ws, p []string) int {
	for i := 0; i+len(p) <= len(ws); i++ {
		match := true
		for j := range p {
			if ws[i+j] != p[j] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}

// smallTalkReply is the fixed reply to small talk of kind in lang.
func smallTalkReply(kind smallTalkKind, lang, botName string) string {
	return cannedText(replyOf[kind], embed.Lang(lang), botName)
}
