package chat

import (
	"strings"

	"github.com/chatbot/chatbot/embed"
)

// The engine's fixed replies, in every language it speaks: one table, so
// that a new language or a reworded reply is one place to change. A reply
// that offers a human names the hand-off phrase of the user's language
// (handoffPhrases), one the live-chat detector's default phrases hand over
// (a livechat test checks each); an operator who replaces those defaults
// with --livechat-phrases should keep these.

// cannedKind is a fixed reply.
type cannedKind int

const (
	replyNoAnswer cannedKind = iota // nothing relevant; offers a human
	replyTrouble                    // retrieval failed
	replySlow                       // the deadline passed while waiting
	replyGreeting                   // "hi": who the bot is, what it does
	replyThanks                     // "thanks"
	replyGoodbye                    // "bye"
	replyIdentity                   // "are you a real person?", "who am I talking to?"
	replyClarify                    // "I need help with my account": what exactly? (vague.go)
)

// cannedLangs are the languages of the fixed replies; English is the
// default for any other.
var cannedLangs = []embed.Lang{embed.English, embed.German, embed.French, embed.Spanish, embed.Portuguese, embed.Italian, embed.Arabic}

// handoffPhrases are what a reply offering a human tells the user to
// write, by language: each is one of the live-chat detector's default
// phrases once normalised (articles dropped).
var handoffPhrases = map[embed.Lang]string{
	embed.English:    "talk to an agent",
	embed.German:     "mit einem Mitarbeiter sprechen",
	embed.French:     "parler à un conseiller",
	embed.Spanish:    "hablar con un agente",
	embed.Portuguese: "falar com um atendente",
	embed.Italian:    "parlare con un operatore",
	embed.Arabic:     "التحدث مع موظف",
}

// HandoffPhrase is the phrase the fixed replies offer for reaching a
// human in lang (English for a language without replies).
func HandoffPhrase(lang embed.Lang) string {
	if p, ok := handoffPhrases[lang]; ok {
		return p
	}
	return handoffPhrases[embed.English]
}

// HandoffLanguages are the languages HandoffPhrase knows.
func HandoffLanguages() []embed.Lang { return append([]embed.Lang(nil), cannedLangs...) }

// The English replies the tests and other packages compare with.
const (
	noAnswerText = "I found nothing relevant to that in our documentation. " +
		"Would you like me to connect you with a human agent? Just reply \"talk to an agent\"."
	troubleText = "Sorry, I can't look that up right now. An agent will follow up with you here."
	slowText    = "Sorry, this is taking me too long. An agent will follow up with you here."
)

// cannedTexts holds every fixed reply by kind and language; %s is the
// bot's name (--bot-name).
var cannedTexts = map[cannedKind]map[embed.Lang]string{
	replyNoAnswer: {
		embed.English:    noAnswerText,
		embed.German:     "Dazu habe ich in unserer Dokumentation nichts Passendes gefunden. Möchten Sie mit einem Mitarbeiter sprechen? Antworten Sie einfach \"mit einem Mitarbeiter sprechen\".",
		embed.French:     "Je n'ai rien trouvé de pertinent dans notre documentation. Voulez-vous parler à un conseiller ? Répondez simplement \"parler à un conseiller\".",
		embed.Spanish:    "No encontré nada relevante en nuestra documentación. ¿Quiere hablar con un agente? Responda simplemente \"hablar con un agente\".",
		embed.Portuguese: "Não encontrei nada relevante sobre isso na nossa documentação. Quer falar com um atendente? Basta responder \"falar com um atendente\".",
		embed.Italian:    "Non ho trovato nulla di pertinente nella nostra documentazione. Vuole parlare con un operatore? Risponda semplicemente \"parlare con un operatore\".",
		embed.Arabic:     "لم أجد شيئًا ذا صلة بذلك في وثائقنا. هل تود التحدث مع أحد الموظفين؟ فقط أرسل \"التحدث مع موظف\".",
	},
	replyTrouble: {
		embed.English:    troubleText,
		embed.German:     "Entschuldigung, ich kann das gerade nicht nachschlagen. Ein Mitarbeiter meldet sich hier bei Ihnen.",
		embed.French:     "Désolé, je ne peux pas vérifier cela pour le moment. Un conseiller vous répondra ici.",
		embed.Spanish:    "Lo siento, ahora no puedo consultarlo. Un agente le responderá aquí.",
		embed.Portuguese: "Desculpe, não consigo consultar isso agora. Um atendente vai responder aqui.",
		embed.Italian:    "Mi dispiace, al momento non riesco a verificarlo. Un operatore le risponderà qui.",
		embed.Arabic:     "عذرًا، لا أستطيع البحث عن ذلك الآن. سيتابع معك أحد الموظفين هنا.",
	},
	replySlow: {
		embed.English:    slowText,
		embed.German:     "Entschuldigung, das dauert zu lange. Ein Mitarbeiter meldet sich hier bei Ihnen.",
		embed.French:     "Désolé, cela prend trop de temps. Un conseiller vous répondra ici.",
		embed.Spanish:    "Lo siento, esto está tardando demasiado. Un agente le responderá aquí.",
		embed.Portuguese: "Desculpe, isto está demorando demais. Um atendente vai responder aqui.",
		embed.Italian:    "Mi dispiace, ci sto mettendo troppo tempo. Un operatore le risponderà qui.",
		embed.Arabic:     "عذرًا، يستغرق هذا وقتًا طويلاً. سيتابع معك أحد الموظفين هنا.",
	},
	replyGreeting: {
		embed.English:    "Hello! I'm %s, an automated assistant. How can I help you today?",
		embed.German:     "Hallo! Ich bin %s, ein automatischer Assistent. Wie kann ich helfen?",
		embed.French:     "Bonjour ! Je suis %s, un assistant automatique. Comment puis-je vous aider ?",
		embed.Spanish:    "¡Hola! Soy %s, un asistente automático. ¿En qué puedo ayudarle?",
		embed.Portuguese: "Olá! Eu sou %s, um assistente automático. Como posso ajudar?",
		embed.Italian:    "Salve! Sono %s, un assistente automatico. Come posso aiutarla?",
		embed.Arabic:     "مرحبًا! أنا %s، مساعد آلي. كيف يمكنني مساعدتك؟",
	},
	replyThanks: {
		embed.English:    "You're welcome! Is there anything else I can help you with?",
		embed.German:     "Gern geschehen! Kann ich sonst noch helfen?",
		embed.French:     "Avec plaisir ! Puis-je vous aider pour autre chose ?",
		embed.Spanish:    "¡De nada! ¿Puedo ayudarle con algo más?",
		embed.Portuguese: "De nada! Posso ajudar com mais alguma coisa?",
		embed.Italian:    "Prego! Posso aiutarla in qualcos'altro?",
		embed.Arabic:     "على الرحب والسعة! هل هناك شيء آخر يمكنني مساعدتك فيه؟",
	},
	replyGoodbye: {
		embed.English:    "Goodbye! Come back any time.",
		embed.German:     "Tschüss! Melden Sie sich jederzeit wieder.",
		embed.French:     "Au revoir ! Revenez quand vous voulez.",
		embed.Spanish:    "¡Adiós! Vuelva cuando quiera.",
		embed.Portuguese: "Até logo! Volte quando quiser.",
		embed.Italian:    "Arrivederci! Torni quando vuole.",
		embed.Arabic:     "مع السلامة! عد في أي وقت.",
	},
	replyIdentity: {
		embed.English:    "I'm %s, an automated assistant, not a person. I answer from our help documentation. If you'd like to talk to a human, just reply \"talk to an agent\".",
		embed.German:     "Ich bin %s, ein automatischer Assistent, kein Mensch. Ich antworte anhand unserer Hilfe-Dokumentation. Wenn Sie mit einem Menschen sprechen möchten, antworten Sie einfach \"mit einem Mitarbeiter sprechen\".",
		embed.French:     "Je suis %s, un assistant automatique, pas une personne. Je réponds à partir de notre documentation d'aide. Pour parler à un humain, répondez simplement \"parler à un conseiller\".",
		embed.Spanish:    "Soy %s, un asistente automático, no una persona. Respondo a partir de nuestra documentación de ayuda. Si prefiere hablar con una persona, responda simplemente \"hablar con un agente\".",
		embed.Portuguese: "Eu sou %s, um assistente automático, não uma pessoa. Respondo com base na nossa documentação de ajuda. Se preferir falar com uma pessoa, basta responder \"falar com um atendente\".",
		embed.Italian:    "Sono %s, un assistente automatico, non una persona. Rispondo in base alla nostra documentazione di assistenza. Se preferisce parlare con una persona, risponda semplicemente \"parlare con un operatore\".",
		embed.Arabic:     "أنا %s، مساعد آلي ولست إنسانًا. أجيب من وثائق المساعدة لدينا. إذا كنت تفضل التحدث مع إنسان، فقط أرسل \"التحدث مع موظف\".",
	},
	replyClarify: {
		embed.English:    "Sure, I can help. What exactly do you need? Tell me in a sentence, for example what you were trying to do and what happened. If you'd rather talk to a person, just reply \"talk to an agent\".",
		embed.German:     "Gern helfe ich. Worum genau geht es? Beschreiben Sie es in einem Satz, zum Beispiel was Sie tun wollten und was passiert ist. Wenn Sie lieber mit einem Menschen sprechen möchten, antworten Sie einfach \"mit einem Mitarbeiter sprechen\".",
		embed.French:     "Bien sûr, je peux vous aider. De quoi avez-vous besoin exactement ? Décrivez-le en une phrase, par exemple ce que vous vouliez faire et ce qui s'est passé. Pour parler à une personne, répondez simplement \"parler à un conseiller\".",
		embed.Spanish:    "Claro, puedo ayudarle. ¿Qué necesita exactamente? Cuéntemelo en una frase, por ejemplo qué intentaba hacer y qué ocurrió. Si prefiere hablar con una persona, responda simplemente \"hablar con un agente\".",
		embed.Portuguese: "Claro, posso ajudar. Do que você precisa exatamente? Conte numa frase, por exemplo o que tentou fazer e o que aconteceu. Se preferir falar com uma pessoa, basta responder \"falar com um atendente\".",
		embed.Italian:    "Certo, posso aiutarla. Di che cosa ha bisogno esattamente? Me lo descriva in una frase, per esempio che cosa voleva fare e che cosa è successo. Se preferisce parlare con una persona, risponda semplicemente \"parlare con un operatore\".",
		embed.Arabic:     "بالتأكيد، يسعدني مساعدتك. ما الذي تحتاجه بالضبط؟ صِفه في جملة، مثلًا ما الذي كنت تحاول فعله وماذا حدث. إذا كنت تفضل التحدث مع شخص، فقط أرسل \"التحدث مع موظف\".",
	},
}

// cannedText is the reply of a kind in lang (English when the table has
// no such language), with the bot's name in place of %s. The name is
// put in as it is: it may contain '%', so no Sprintf.
func cannedText(kind cannedKind, lang embed.Lang, botName string) string {
	texts := cannedTexts[kind]
	t, ok := texts[lang]
	if !ok {
		t = texts[embed.English]
	}
	return strings.Replace(t, "%s", botName, 1)
}

// canned is a fixed reply in the language of the user's message.
func canned(kind cannedKind, text string) string {
	return cannedText(kind, embed.Lang(guessLanguage(text)), "")
}

// guessLanguage is the language of a user's message among those of the
// fixed replies (embed's detector: script, then function words and
// character trigrams); short or unclear text is English. It only picks
// the language of the engine's own replies; an LLM answer follows the
// user's language by instruction.
func guessLanguage(text string) string {
	return string(embed.DetectAmong(text, cannedLangs))
}
