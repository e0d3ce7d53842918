package rag

import (
	"context"
	"testing"

	"github.com/chatbot/chatbot/embed"
)

// putTexts indexes id -> text as BEIR documents (one chunk each).
func putTexts(t *testing.T, ix *Index, docs ...BEIRDoc) {
	t.Helper()
	if err := IndexCorpus(context.Background(), ix, docs, nil); err != nil {
		t.Fatal(err)
	}
}

// A Spanish knowledge base is analysed as Spanish: the question's
// "devolución" meets the document's "devoluciones" (the English stemmer
// left them apart, so the words did not count at all).
func TestSpanishQuestionMeetsOtherWordForms(t *testing.T) {
	ix := openIndex(t, openStore(t, t.TempDir()), embed.NewBuiltin(), Options{})
	putTexts(t, ix,
		BEIRDoc{ID: "devoluciones", Text: "Las devoluciones son gratuitas durante los primeros treinta días desde la entrega."},
		BEIRDoc{ID: "envios", Text: "Los envíos a Canarias tardan de cinco a siete días laborables."},
		BEIRDoc{ID: "pagos", Text: "Aceptamos tarjetas de crédito, transferencias bancarias y Bizum."},
	)
	res, err := ix.search(context.Background(), "¿puedo hacer una devolución?", 3, ModeLexical)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 || res[0].Source != "devoluciones" || res[0].LexicalScore <= 0 {
		t.Fatalf("got %+v, want the returns document first with a lexical score", res)
	}
	if got := ix.docLangs(); len(got) != 1 || got[0] != embed.Spanish {
		t.Fatalf("index languages %v, want [es]", got)
	}
}

// In an index of English and Russian documents a Russian question is
// analysed as Russian and finds the Russian document by another case of
// the word ("посылки" / "посылка").
func TestMixedIndexQuestionInItsLanguage(t *testing.T) {
	ix := openIndex(t, openStore(t, t.TempDir()), embed.NewBuiltin(), Options{})
	putTexts(t, ix,
		BEIRDoc{ID: "en-parcel", Text: "Your parcel is tracked with the number in the shipping e-mail."},
		BEIRDoc{ID: "ru-parcel", Text: "Если посылка пришла повреждённой, сфотографируйте упаковку и напишите нам."},
		BEIRDoc{ID: "ru-pay", Text: "Мы принимаем банковские карты и переводы через СБП."},
	)
	res, err := ix.search(context.Background(), "что делать, если посылки повреждены?", 3, ModeHybrid)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 || res[0].Source != "ru-parcel" || res[0].LexicalScore <= 0 {
		t.Fatalf("got %+v, want the Russian parcel document first with a lexical score", res)
	}
	// Removing the Russian documents leaves English alone.
	for _, id := range []string{"ru-parcel", "ru-pay"} {
		doc, err := ix.st.DocumentByPath(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := ix.Remove(context.Background(), doc.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := ix.docLangs(); len(got) != 1 || got[0] != embed.English {
		t.Fatalf("index languages after removal %v, want [en]", got)
	}
}
