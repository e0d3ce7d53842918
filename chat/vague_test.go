package chat

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/embed"
)

// vagueCases are requests for help that name nothing to search, by
// language, and questions that start the same way but ask something.
var vagueCases = map[embed.Lang]struct{ vague, questions []string }{
	embed.English: {
		vague: []string{"Hello, I need help with my account", "help", "Hi, I have a question", "can you help me please?",
			"I have a problem with my order", "hey Ada, I need some help"},
		questions: []string{"Hi, how do I reset my password?", "I need help resetting my password",
			"Hello, I need help with my account password", "I have a problem with my order, the refund never came"},
	},
	embed.German: {
		vague:     []string{"Hallo, ich brauche Hilfe mit meinem Konto", "Ich habe eine Frage", "Können Sie mir bitte helfen?"},
		questions: []string{"Hallo, wie setze ich mein Passwort zurück?", "Ich brauche Hilfe: Passwort vergessen"},
	},
	embed.French: {
		vague:     []string{"Bonjour, j'ai besoin d'aide avec mon compte", "J'ai une question", "Pouvez-vous m'aider ?"},
		questions: []string{"Bonjour, comment réinitialiser mon mot de passe ?", "J'ai besoin d'aide pour un remboursement"},
	},
	embed.Spanish: {
		vague:     []string{"Hola, necesito ayuda con mi cuenta", "Tengo una pregunta", "¿Me puede ayudar, por favor?"},
		questions: []string{"Hola, ¿cómo cambio mi contraseña?", "Necesito ayuda con un reembolso"},
	},
	embed.Portuguese: {
		vague:     []string{"Olá, preciso de ajuda com a minha conta", "Tenho uma dúvida", "Pode me ajudar?"},
		questions: []string{"Olá, como faço para redefinir a senha?", "Preciso de ajuda com um reembolso"},
	},
	embed.Italian: {
		vague:     []string{"Ciao, ho bisogno di aiuto con il mio account", "Ho una domanda", "Mi può aiutare per favore?"},
		questions: []string{"Ciao, come reimposto la password?", "Ho bisogno di aiuto con un rimborso"},
	},
	embed.Arabic: {
		vague:     []string{"مرحبا، أحتاج مساعدة في حسابي", "لدي سؤال", "هل يمكنك مساعدتي؟"},
		questions: []string{"مرحبا، كيف أغير كلمة المرور؟", "أحتاج مساعدة في استرداد المبلغ"},
	},
}

// A request for help with nothing to search gets the clarifying question
// in the user's language (general, with the hand-off, no search); a
// question that starts the same way is searched as before.
func TestVagueRequestAsksWhatExactly(t *testing.T) {
	for _, lang := range cannedLangs {
		c := vagueCases[lang]
		t.Run(string(lang), func(t *testing.T) {
			e, r := newTestEngine(t, engineOpts{persona: Persona{BotName: "Ada"}})
			want := cannedText(replyClarify, lang, "Ada")
			for _, msg := range c.vague {
				rep := ask(t, e, "", msg)
				if rep.Type != TypeGeneral || rep.Answer != want || len(rep.Sources) != 0 {
					t.Errorf("%q: %q (%s), want %q", msg, rep.Answer, rep.Type, want)
				}
			}
			if q := r.seen(); len(q) != 0 {
				t.Errorf("vague requests searched %q", q)
			}
			for _, msg := range c.questions {
				if got, ok := vagueRequest(msg, "Ada"); ok {
					t.Errorf("vagueRequest(%q) = %s, want a question", msg, got)
				}
				before := len(r.seen())
				if rep := ask(t, e, "", msg); rep.Answer == want || len(r.seen()) != before+1 {
					t.Errorf("%q was not searched: %q (%s)", msg, rep.Answer, rep.Type)
				}
			}
		})
	}
}

// The README's example: with a knowledge base that mentions accounts, the
// vague request still gets the question back, and the real question with
// a greeting gets its answer.
func TestVagueRequestBesideAnswerableQuestion(t *testing.T) {
	e, r := newTestEngine(t, engineOpts{})
	rep := ask(t, e, "c1", "Hello, I need help with my account")
	if rep.Type != TypeGeneral || !strings.HasPrefix(rep.Answer, "Sure, I can help. What exactly do you need?") ||
		!strings.Contains(rep.Answer, `"talk to an agent"`) {
		t.Fatalf("vague request: %+v", rep)
	}
	rep = ask(t, e, "c1", "Hi, how do I reset my password?")
	if rep.Type != TypeExtractive || !strings.Contains(rep.Answer, "Reset your password from Settings, Security.") ||
		len(rep.Sources) != 1 || rep.Sources[0].Source != "docs/account.md#password" {
		t.Fatalf("greeting plus question: %+v", rep)
	}
	if q := r.seen(); len(q) != 1 {
		t.Fatalf("searches %q, want only the real question", q)
	}
}

// No question of the answer set (rag/testdata/answers, both halves) is
// taken for a vague request or small talk: the check only ever removes
// retrieval from messages with nothing to search.
func TestAnswerSetQuestionsAreNotVague(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "rag", "testdata", "answers", "questions.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		if lang, ok := vagueRequest(f[1], "Assistant"); ok {
			t.Errorf("%q taken for a vague request (%s)", f[1], lang)
		}
		if kind, _ := smallTalk(f[1], "Assistant"); kind != notSmallTalk {
			t.Errorf("%q taken for small talk", f[1])
		}
	}
	if n != 36 {
		t.Fatalf("read %d questions, want 36", n)
	}
}

// FuzzVagueRequest: any text is classified without panicking, the same way
// twice, and a vague request is in one of the fixed replies' languages.
func FuzzVagueRequest(f *testing.F) {
	for _, c := range vagueCases {
		for _, s := range append(c.vague, c.questions...) {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		lang, ok := vagueRequest(s, "Ada")
		if lang2, ok2 := vagueRequest(s, "Ada"); lang2 != lang || ok2 != ok {
			t.Fatalf("%q: %s %v then %s %v", s, lang, ok, lang2, ok2)
		}
		if ok && !slices.Contains(cannedLangs, lang) {
			t.Fatalf("%q: vague in %q, not a language of the fixed replies", s, lang)
		}
	})
}
