package livechat

// The detector's words in the languages of the engine's fixed replies
// besides English (German, French, Spanish, Portuguese, Italian, Arabic):
// a customer asks for a person in their own language. Every list is
// written the way normalise leaves text (lower case, articles dropped,
// apostrophes split: "d'un humain" is "d humain", "quelqu'un" is
// "quelqu"); Arabic is written plainly, normalise folds its letter forms.
// The rules (negation, questions about the bot) are those of Detector;
// only the words differ. Word order matters: German puts the verb last
// ("mit einem Mitarbeiter sprechen"), and its negation stands before the
// object, so "nicht" right before the phrase refuses it.

// otherPhrases are DefaultPhrases in the other languages.
var otherPhrases = []string{
	// German
	"mit mitarbeiter sprechen", "mit mitarbeiterin sprechen", "mit menschen sprechen", "mit mensch sprechen",
	"mit jemandem sprechen", "mit person sprechen", "mit berater sprechen", "mit kundendienst sprechen",
	"mit kundenservice sprechen", "mit mitarbeiter reden", "mit menschen reden", "mit jemandem reden",
	"mit mitarbeiter chatten", "mit menschen chatten", "mit mitarbeiter verbinden", "mit menschen verbinden",
	"verbinden sie mich mit", "verbinde mich mit", "echten menschen", "echter mensch", "echte person",
	"menschlichen mitarbeiter", "brauche menschen", "brauche mitarbeiter", "will menschen", "mitarbeiter bitte",
	"mensch bitte",
	// French
	"parler à conseiller", "parler à conseillère", "parler à agent", "parler à humain", "parler à personne",
	"parler à quelqu", "parler avec conseiller", "parler avec humain", "parler avec quelqu", "parler à opérateur",
	"vraie personne", "personne réelle", "être humain", "conseiller humain", "agent humain",
	"en relation avec conseiller", "besoin d humain", "besoin d conseiller", "veux humain", "veux conseiller",
	"conseiller svp", "conseiller s il vous plaît", "humain svp",
	// Spanish
	"hablar con agente", "hablar con humano", "hablar con persona", "hablar con alguien", "hablar con asesor",
	"hablar con operador", "hablar con representante", "comunicarme con agente", "pásame con agente",
	"páseme con agente", "persona real", "ser humano", "agente humano", "necesito humano",
	"necesito agente", "quiero humano", "quiero agente", "agente por favor",
	// Portuguese
	"falar com atendente", "falar com humano", "falar com pessoa", "falar com alguém", "falar com agente",
	"falar com operador", "pessoa real", "atendente humano", "atendimento humano", "quero atendente", "quero humano",
	"preciso de atendente", "preciso de humano", "preciso de pessoa", "passa para atendente", "passe para atendente",
	"transferir para atendente", "atendente por favor",
	// Italian
	"parlare con operatore", "parlare con operatrice", "parlare con umano", "parlare con persona",
	"parlare con qualcuno", "parlare con agente", "persona reale", "persona vera", "essere umano",
	"operatore umano", "voglio operatore", "vorrei operatore", "bisogno di operatore", "bisogno di persona",
	"bisogno di umano", "passami operatore", "operatore per favore",
	// Arabic
	"التحدث مع موظف", "التحدث مع انسان", "التحدث مع شخص", "التحدث الى موظف", "اتحدث مع موظف", "اتحدث مع انسان",
	"التكلم مع موظف", "اكلم موظف", "شخص حقيقي", "انسان حقيقي", "موظف بشري", "ممثل خدمة العملاء", "حولني الى موظف",
	"تحويلي الى موظف", "اريد موظف", "اريد موظفا", "اريد انسان", "اريد انسانا",
}

// otherAloneWords are DefaultAloneWords in the other languages.
var otherAloneWords = []string{
	"mitarbeiter", "mensch", "kundendienst", "conseiller", "humain", "agente", "humano", "asesor", "operador",
	"atendente", "operatore", "umano", "موظف", "انسان",
}

// Each string below is the other languages' part of the English list of
// the same name in detection.go.
const (
	otherNegations = "nicht kein keine keinen keinem nie niemals ohne ne n pas jamais aucun sans nunca sin ni " +
		"tampoco jamás não nem sem non mai senza né لا لن لم ليس لست ما مش بدون"
	otherRequestVerbs = "will möchte möchten brauche brauchen sprechen reden verbinden veux voudrais souhaite " +
		"aimerais besoin parler demande quiero quisiera necesito deseo hablar pedir pido pedí quero queria preciso gostaria " +
		"falar voglio vorrei desidero ho parlare اريد ابغى احتاج اود بدي التحدث اتحدث"
	otherRequestLinks = "zu mit de d à avec me m con a me mi com di لي الى مع"
	otherPoliteness   = "bitte hallo svp s il vous plaît bonjour por favor hola olá oi per favore ciao من فضلك لو سمحت مرحبا"
	// otherArticles are dropped like a, an and the. Not "i" (the English
	// pronoun), "as" (English) or "das" (a German pronoun in "ist das
	// ein Mensch?").
	otherArticles = "der den dem ein eine einen einem einer le la les l un une el los las una unos unas o os um uma " +
		"il lo gli uno"
	// otherClauseBreakers end a clause like "but".
	otherClauseBreakers = "aber sondern mais pero sino mas ma però لكن بل"
	// otherConditions before a negation make it a condition ("si no,
	// pásame con un agente"), like "if".
	otherConditions = "wenn si se"
	// abilityModals before "nicht" or "pas" in the clause make it
	// inability, not refusal ("warum kann ich nicht mit einem Menschen
	// sprechen?"), like "can not" in English.
	abilityModals = "kann kannst können könnt konnte darf dürfen peux peut pouvez pouvons peuvent pu"
)

// otherBotQuestions are botQuestions in the other languages.
var otherBotQuestions = [][]string{
	{"bist", "du"}, {"sind", "sie"}, {"ist", "das"}, {"spreche", "ich", "mit"}, {"rede", "ich", "mit"},
	{"chatte", "ich", "mit"},
	{"êtes", "vous"}, {"etes", "vous"}, {"es", "tu"}, {"tu", "es"}, {"vous", "êtes"}, {"c", "est"}, {"est", "ce"},
	{"je", "parle", "à"}, {"je", "parle", "avec"},
	{"eres"}, {"es", "usted"}, {"usted", "es"}, {"estoy", "hablando", "con"}, {"hablo", "con"},
	{"você", "é"}, {"voce", "e"}, {"vc", "é"}, {"vc", "e"}, {"estou", "falando", "com"}, {"falo", "com"},
	{"sei"}, {"è"}, {"lei", "è"}, {"sto", "parlando", "con"}, {"parlo", "con"},
	{"هل", "انت"}, {"انت"}, {"هل", "هذا"}, {"هل", "اتحدث", "مع"}, {"هل", "اكلم"},
}
