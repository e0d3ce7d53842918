package chat

import (
	"testing"

	"github.com/chatbot/chatbot/faq"
	"github.com/chatbot/chatbot/store"
)

func curatedPairs() *faq.Matcher {
	m := faq.NewMatcher(0)
	m.Load([]store.FAQ{{ID: 7, Question: "How do I reset my password?", Answer: "Use the *Forgot password* link on the sign-in page."}})
	return m
}

// TestCuratedAnswerWins: a matching pair is the answer, as written, over
// the LLM's and the extractive one, citing the pair; the turn is
// remembered; a question it does not match is answered as before.
func TestCuratedAnswerWins(t *testing.T) {
	mem := openMemory(t)
	llm := echoLLM("Reset your password from Settings [1].")
	r := &fakeRetriever{passages: kb}
	e, err := NewEngine(Config{Retriever: r, Extract: fakeExtract, LLM: llm, Memory: mem, Curated: curatedPairs()})
	if err != nil {
		t.Fatal(err)
	}
	rep := ask(t, e, "c1", "how can I reset my password?")
	want := Source{Title: "FAQ: How do I reset my password?", Source: "faq:7", Score: 1}
	if rep.Type != TypeCurated || rep.Answer != "Use the *Forgot password* link on the sign-in page." ||
		len(rep.Sources) != 1 || rep.Sources[0] != want {
		t.Fatalf("reply = %+v", rep)
	}
	if len(r.seen()) != 0 || len(llm.requests()) != 0 {
		t.Fatalf("a curated answer still searched (%v) or asked the LLM (%d calls)", r.seen(), len(llm.requests()))
	}
	c, err := mem.Conversation(store.ConvRef{Platform: "freshchat", ConversationID: "c1"})
	if err != nil || len(c.Turns) != 2 || c.Turns[1].ResponseType != string(TypeCurated) || c.Turns[1].Text != rep.Answer {
		t.Fatalf("memory = %+v, %v", c.Turns, err)
	}

	// Another question sharing a word goes to retrieval and the LLM.
	if rep := ask(t, e, "c2", "reset voucher"); rep.Type != TypeRAG {
		t.Fatalf("near miss answered %+v", rep)
	}
}

// TestLiveChatComesBeforeCurated: a conversation an agent has is not
// answered by a curated pair either.
func TestLiveChatComesBeforeCurated(t *testing.T) {
	live := &fakeLive{handled: true}
	e, err := NewEngine(Config{Retriever: &fakeRetriever{passages: kb}, Extract: fakeExtract, LiveChat: live, Curated: curatedPairs()})
	if err != nil {
		t.Fatal(err)
	}
	if rep := ask(t, e, "c1", "how do I reset my password"); rep.Type != TypeLiveChatMessage {
		t.Fatalf("reply = %+v", rep)
	}
}
