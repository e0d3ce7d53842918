package livechat

import "testing"

// Requests for a human in each language of the fixed replies, refusals of
// one ("I don't want to talk to a human"), questions whether the bot is a
// person, and questions that only mention the words.
func TestDetectOtherLanguages(t *testing.T) {
	d := NewDetector(nil, nil)
	for lang, c := range map[string]struct{ yes, no []string }{
		"de": {
			yes: []string{"Ich möchte mit einem Mitarbeiter sprechen", "Kann ich bitte mit einem Menschen reden?",
				"Verbinden Sie mich mit einem Mitarbeiter!", "Ich brauche einen echten Menschen", "Mitarbeiter, bitte",
				"Warum kann ich nicht mit einem Menschen sprechen?", "Das hilft nicht, ich will mit einem Menschen sprechen"},
			no: []string{"Ich möchte nicht mit einem Mitarbeiter sprechen", "Ich will nie mit einem Menschen reden",
				"Ich brauche keinen Menschen", "Bist du ein echter Mensch?", "Sind Sie ein echter Mensch?",
				"Wie viele Mitarbeiter haben Sie?"},
		},
		"fr": {
			yes: []string{"Je voudrais parler à un conseiller", "Puis-je parler à un humain ?", "J'ai besoin d'un humain",
				"Je veux parler à une vraie personne", "Conseiller s'il vous plaît", "humain svp",
				"Pourquoi je ne peux pas parler à un humain ?", "Ce n'est pas utile, je veux parler à un conseiller"},
			no: []string{"Je ne veux pas parler à un conseiller", "Je ne veux parler à personne",
				"Je n'ai pas besoin d'un humain", "Êtes-vous une vraie personne ?", "C'est une vraie personne ?",
				"Quel est le rôle du conseiller ?"},
		},
		"es": {
			yes: []string{"Quiero hablar con un agente", "¿Puedo hablar con una persona?", "Necesito un humano",
				"Agente, por favor", "¿Por qué no puedo hablar con un humano?", "Esto no sirve, quiero hablar con un agente",
				"Si no, pásame con un agente"},
			no: []string{"No quiero hablar con un agente", "No necesito un humano", "Nunca pedí hablar con una persona",
				"¿Eres una persona real?", "¿Estoy hablando con una persona real?", "¿Qué hace un agente de envíos?"},
		},
		"pt": {
			yes: []string{"Quero falar com um atendente", "Posso falar com uma pessoa?", "Preciso de um humano",
				"Atendente, por favor", "Isso não ajuda, quero falar com um atendente"},
			no: []string{"Não quero falar com um atendente", "Não preciso de um humano", "Você é uma pessoa real?",
				"Estou falando com uma pessoa real?", "Qual o horário do atendente da loja?"},
		},
		"it": {
			yes: []string{"Voglio parlare con un operatore", "Posso parlare con una persona?", "Ho bisogno di un operatore",
				"Operatore, per favore", "Non funziona, voglio parlare con un operatore"},
			no: []string{"Non voglio parlare con un operatore", "Non ho bisogno di un operatore",
				"Sei una persona vera?", "Sto parlando con una persona reale?", "Quanti operatori avete?"},
		},
		"ar": {
			yes: []string{"أريد التحدث مع موظف", "هل يمكنني التحدث مع إنسان؟", "أُرِيدُ التحدث مع موظف", "حولني إلى موظف",
				"أريد موظفًا", "موظف من فضلك"},
			no: []string{"لا أريد التحدث مع موظف", "لن أتحدث مع موظف", "هل أنت شخص حقيقي؟", "هل أنت إنسان حقيقي؟",
				"كم عدد الموظفين لديكم؟"},
		},
	} {
		for _, text := range c.yes {
			if _, ok := d.Detect(text); !ok {
				t.Errorf("%s: Detect(%q) = false, want a request for a human", lang, text)
			}
		}
		for _, text := range c.no {
			if m, ok := d.Detect(text); ok {
				t.Errorf("%s: Detect(%q) = %q, want no request", lang, text, m.Phrase)
			}
		}
	}
}

func TestNormaliseArabic(t *testing.T) {
	for in, want := range map[string]string{
		"أُرِيدُ":      "اريد",
		"إنســـان":     "انسان",
		"خدمة، مرحبا؟": "خدمه\x00مرحبا\x00",
	} {
		got := ""
		for _, w := range normalise(in) {
			got += w
		}
		if got != want {
			t.Errorf("normalise(%q) = %q, want %q", in, got, want)
		}
	}
}
