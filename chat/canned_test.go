package chat

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/embed"
)

// Every fixed reply exists in every language, names the bot where it
// introduces it, and offers a human where it has no answer.
func TestCannedTableIsComplete(t *testing.T) {
	kinds := []cannedKind{replyNoAnswer, replyTrouble, replySlow, replyGreeting, replyThanks, replyGoodbye, replyIdentity, replyClarify}
	if len(cannedTexts) != len(kinds) {
		t.Fatalf("%d kinds in the table, %d tested", len(cannedTexts), len(kinds))
	}
	for _, k := range kinds {
		if len(cannedTexts[k]) != len(cannedLangs) {
			t.Errorf("kind %d: %d languages, want %d", k, len(cannedTexts[k]), len(cannedLangs))
		}
		for _, lang := range cannedLangs {
			txt := cannedTexts[k][lang]
			named := k == replyGreeting || k == replyIdentity
			if strings.TrimSpace(txt) == "" || strings.Count(txt, "%s") != map[bool]int{true: 1, false: 0}[named] {
				t.Errorf("kind %d %s: %q", k, lang, txt)
			}
			if (k == replyNoAnswer || k == replyIdentity || k == replyClarify) && !strings.Contains(txt, `"`+HandoffPhrase(lang)+`"`) {
				t.Errorf("kind %d %s offers no human: %q", k, lang, txt)
			}
		}
	}
	if got := HandoffPhrase("ja"); got != "talk to an agent" {
		t.Errorf("hand-off phrase of a language without replies: %q", got)
	}
	if got := cannedText(replyNoAnswer, embed.German, ""); !strings.HasSuffix(got, `Antworten Sie einfach "mit einem Mitarbeiter sprechen".`) {
		t.Errorf("German offer: %q", got)
	}
	if got := cannedText(replyGreeting, "ja", "Ada"); got != "Hello! I'm Ada, an automated assistant. How can I help you today?" {
		t.Errorf("a language without replies: %q", got)
	}
	if got := cannedText(replyIdentity, embed.English, "100% Bot"); !strings.HasPrefix(got, "I'm 100% Bot, an automated assistant, not a person.") {
		t.Errorf("a name with %%: %q", got)
	}
}

// cannedCases are the user messages of each kind in each language.
var cannedCases = map[embed.Lang]map[string][]string{
	embed.English: {
		"greeting": {"Hi", "hello there!"}, "thanks": {"thanks", "thank you so much"}, "goodbye": {"bye"},
		"identity": {"are you a real person?", "Who am I talking to?", "hi, are you a bot or a human?"},
		"question": {"Can I pay with PayPal at the counter?"},
	},
	embed.German: {
		"greeting": {"Hallo", "Guten Morgen"}, "thanks": {"Danke", "vielen Dank!"}, "goodbye": {"Tschüss", "auf Wiedersehen"},
		"identity": {"Bist du ein echter Mensch?", "Mit wem spreche ich?", "Sind Sie ein Bot oder ein Mensch?"},
		"question": {"Kann ich an der Kasse mit PayPal bezahlen?"},
	},
	embed.French: {
		"greeting": {"Bonjour", "bonsoir !"}, "thanks": {"merci", "Merci beaucoup"}, "goodbye": {"au revoir"},
		"identity": {"Êtes-vous une vraie personne ?", "À qui je parle ?", "etes vous un robot"},
		"question": {"Est-ce que je peux payer avec PayPal à la caisse ?"},
	},
	embed.Spanish: {
		"greeting": {"Hola", "buenos días"}, "thanks": {"gracias", "muchas gracias"}, "goodbye": {"adiós"},
		"identity": {"¿Eres una persona real?", "¿Con quién estoy hablando?", "quien eres"},
		"question": {"¿Puedo pagar con PayPal en la tienda?"},
	},
	embed.Portuguese: {
		"greeting": {"Olá", "bom dia"}, "thanks": {"obrigado", "muito obrigada"}, "goodbye": {"tchau"},
		"identity": {"Você é uma pessoa real?", "Com quem estou falando?", "voce e um robo"},
		"question": {"Posso pagar com PayPal na loja?"},
	},
	embed.Italian: {
		"greeting": {"Ciao", "buongiorno"}, "thanks": {"grazie", "grazie mille"}, "goodbye": {"arrivederci"},
		"identity": {"Sei una persona vera?", "Con chi sto parlando?", "sei un bot"},
		"question": {"Posso pagare con PayPal nel negozio?"},
	},
	embed.Arabic: {
		"greeting": {"مرحبا", "السلام عليكم"}, "thanks": {"شكرا", "شكراً جزيلاً"}, "goodbye": {"مع السلامة"},
		"identity": {"هل أنت شخص حقيقي؟", "مع من أتحدث؟", "هل انت انسان ام روبوت"},
		"question": {"هل يمكنني الدفع باستخدام بطاقة الائتمان في المتجر؟"},
	},
}

// blockingRetriever waits for the deadline: the slow reply.
type blockingRetriever struct{}

func (blockingRetriever) Search(ctx context.Context, _ string, _ int) ([]Passage, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// Greetings, thanks, goodbyes and questions about the bot get the fixed
// reply in the user's language (general, no retrieval); a question with
// no answer, a failing index and a deadline get theirs, in the question's
// language. One subtest per language and kind.
func TestCannedRepliesInEveryLanguage(t *testing.T) {
	persona := Persona{BotName: "Ada"}
	for _, lang := range cannedLangs {
		cases := cannedCases[lang]
		for kind, reply := range map[string]cannedKind{"greeting": replyGreeting, "thanks": replyThanks, "goodbye": replyGoodbye, "identity": replyIdentity} {
			t.Run(string(lang)+"/"+kind, func(t *testing.T) {
				r := &fakeRetriever{passages: kb}
				e, err := NewEngine(Config{Retriever: r, Extract: fakeExtract, Persona: persona})
				if err != nil {
					t.Fatal(err)
				}
				want := cannedText(reply, lang, "Ada")
				for _, msg := range cases[kind] {
					rep := ask(t, e, "c1", msg)
					if rep.Type != TypeGeneral || rep.Answer != want || len(rep.Sources) != 0 {
						t.Errorf("%q: %q (%s), want %q", msg, rep.Answer, rep.Type, want)
					}
				}
				if q := r.seen(); len(q) != 0 {
					t.Errorf("small talk searched %q", q)
				}
			})
		}
		for kind, c := range map[string]struct {
			reply     cannedKind
			retriever Retriever
			timeout   time.Duration
			fallback  string
		}{
			"no_answer": {replyNoAnswer, &fakeRetriever{}, 0, FallbackNone},
			"trouble":   {replyTrouble, &fakeRetriever{err: errors.New("index closed")}, 0, FallbackRetrieval},
			"slow":      {replySlow, blockingRetriever{}, 200 * time.Millisecond, FallbackTimeout},
		} {
			t.Run(string(lang)+"/"+kind, func(t *testing.T) {
				e, err := NewEngine(Config{Retriever: c.retriever, Extract: fakeExtract, Persona: persona, Timeout: c.timeout})
				if err != nil {
					t.Fatal(err)
				}
				for _, msg := range cases["question"] {
					rep := ask(t, e, "", msg)
					if want := cannedText(c.reply, lang, ""); rep.Type != TypeNoAnswer || rep.Answer != want || rep.Fallback != c.fallback {
						t.Errorf("%q: %q (%s, %q), want %q", msg, rep.Answer, rep.Type, rep.Fallback, want)
					}
				}
			})
		}
	}
}

// Questions that mention the bot's words but ask something else are not
// small talk: retrieval answers them.
func TestNotSmallTalk(t *testing.T) {
	for _, msg := range []string{
		"who is this product for?", "are you open on sundays?", "what are your opening hours?",
		"Hello, I need help with my account", "are you a bot? how do I reset my password", "who are you shipping with",
		"bis morgen geöffnet?", "sind Sie am Sonntag geöffnet?", "quien es el responsable de envios",
		"sei aperto domenica?", "هل أنت مفتوح يوم الأحد؟",
	} {
		if kind, lang := smallTalk(msg, "Ada"); kind != notSmallTalk {
			t.Errorf("smallTalk(%q) = %v %s", msg, kind, lang)
		}
	}
}

func TestFoldWords(t *testing.T) {
	for in, want := range map[string]string{
		"Êtes-vous":          "etes vous",
		"Tschüß!":            "tschuss",
		"¿Quién ERES?":       "quien eres",
		"هَلْ أَنْتَ إنسان؟": "هل انت انسان",
		"مـــرحبا":           "مرحبا",
		"c'est un bot":       "c est un bot",
	} {
		if got := strings.Join(foldWords(in), " "); got != want {
			t.Errorf("foldWords(%q) = %q, want %q", in, got, want)
		}
	}
}
