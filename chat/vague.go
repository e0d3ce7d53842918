package chat

import (
	"github.com/chatbot/chatbot/embed"
)

// Vague requests: "Hello, I need help with my account" asks for help and
// says nothing the documents could answer. Retrieval on it quotes three
// passages that happen to share "account" (issue 17); a support agent
// would ask what exactly the customer needs, and so does the engine, with
// the hand-off offered in the same reply. A message is vague when every
// word is a greeting, a filler, the bot's name or a word of a request for
// help (help, question, problem, I need, can you, with my...), at least
// one of them a help word, and at most one names a topic too broad to
// search (account, order, purchase, something). Any other word ("reset",
// "password", "kettle", "how") makes it a question, which retrieval
// answers: "Hi, how do I reset my password?" is not vague.

// vagueRole is what a word does in a request for help.
type vagueRole int

const (
	vagueHelp  vagueRole = iota + 1 // help, question, problem: the request itself
	vagueGlue                       // I, need, with, my, can, you, please
	vagueTopic                      // account, order: a topic too broad to search
)

// vagueWords maps folded words (foldWords) to their role, by language; a
// word may belong to several languages ("problema", "question").
var vagueWords = func() map[string]map[embed.Lang]vagueRole {
	m := map[string]map[embed.Lang]vagueRole{}
	add := func(lang embed.Lang, role vagueRole, ws string) {
		for _, w := range foldWords(ws) {
			if m[w] == nil {
				m[w] = map[embed.Lang]vagueRole{}
			}
			if _, ok := m[w][lang]; !ok {
				m[w][lang] = role
			}
		}
	}
	add(embed.English, vagueHelp, "help assistance question questions problem problems issue issues trouble query")
	add(embed.English, vagueGlue, `i i'm im i'd a an the my our me with about regarding for some need needs have has got can could
		would you like to get having is it this quick small little just want please kindly`)
	add(embed.English, vagueTopic, "account order purchase something thing")
	add(embed.German, vagueHelp, "hilfe unterstützung frage fragen problem probleme helfen")
	add(embed.German, vagueGlue, `ich brauche benötige habe hätte eine ein einen mit meinem meiner meine mein zu bei können könnten
		kannst kann sie du mir bitte kurze kleine mal eine zum`)
	add(embed.German, vagueTopic, "konto kundenkonto bestellung kauf etwas")
	add(embed.French, vagueHelp, "aide aider question questions problème problèmes souci soucis assistance")
	add(embed.French, vagueGlue, `j je ai besoin d de du un une avec mon ma mes concernant sur pouvez pourriez vous m me moi
		s il plaît svp petite petit quelque`)
	add(embed.French, vagueTopic, "compte commande achat chose")
	add(embed.Spanish, vagueHelp, "ayuda ayudar ayudarme ayúdeme ayúdame pregunta preguntas problema problemas duda dudas consulta asistencia")
	add(embed.Spanish, vagueGlue, "necesito tengo una un con mi mis sobre me puede puedes podría podrías por favor de la el en")
	add(embed.Spanish, vagueTopic, "cuenta pedido compra algo")
	add(embed.Portuguese, vagueHelp, "ajuda ajudar ajudem pergunta perguntas problema problemas dúvida dúvidas")
	add(embed.Portuguese, vagueGlue, "preciso de da do eu tenho uma um com minha meu sobre pode podem me você vc por favor a o na no")
	add(embed.Portuguese, vagueTopic, "conta pedido compra algo coisa")
	add(embed.Italian, vagueHelp, "aiuto aiutare aiutarmi domanda domande problema problemi assistenza")
	add(embed.Italian, vagueGlue, "ho bisogno di un una con il mio mia mi può puoi potete per favore sul sulla riguardo")
	add(embed.Italian, vagueTopic, "account conto ordine acquisto qualcosa")
	add(embed.Arabic, vagueHelp, "مساعدة مساعده مساعدتي ساعدني ساعدوني سؤال مشكلة مشكله استفسار")
	add(embed.Arabic, vagueGlue, "أحتاج إلى لدي عندي هل يمكنك يمكن من فضلك في مع بخصوص حول أريد")
	add(embed.Arabic, vagueTopic, "حسابي حساب طلبي طلب شيء")
	return m
}()

// maxVagueWords bounds a vague request: a longer message says more than
// "help".
const maxVagueWords = 12

// vagueRequest reports whether q is a request for help with nothing to
// search, and its language: the one most of its words belong to, or the
// detector's guess on a tie.
func vagueRequest(q, botName string) (embed.Lang, bool) {
	ws := foldWords(q)
	if len(ws) == 0 || len(ws) > maxVagueWords {
		return "", false
	}
	name := map[string]bool{}
	for _, w := range foldWords(botName) {
		name[w] = true
	}
	votes := map[embed.Lang]int{}
	help, topics := false, 0
	for _, w := range ws {
		if st, ok := smallTalkWords[w]; ok && st.kind == greeting {
			votes[st.lang]++
			continue
		}
		if name[w] || smallTalkFillers[w] {
			continue
		}
		roles, ok := vagueWords[w]
		if !ok {
			return "", false
		}
		isTopic := true
		for lang, role := range roles {
			votes[lang]++
			help = help || role == vagueHelp
			isTopic = isTopic && role == vagueTopic
		}
		if isTopic {
			topics++
		}
	}
	if !help || topics > 1 {
		return "", false
	}
	var best embed.Lang
	tie := false
	for _, lang := range cannedLangs {
		switch {
		case votes[lang] > votes[best]:
			best, tie = lang, false
		case votes[lang] == votes[best] && votes[lang] > 0:
			tie = true
		}
	}
	if tie {
		best = embed.Lang(guessLanguage(q))
	}
	return best, true
}
