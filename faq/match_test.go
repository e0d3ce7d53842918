package faq

import (
	"fmt"
	"sync"
	"testing"

	"github.com/chatbot/chatbot/store"
)

// testPairs is a small shop's curated answers, ids as the store gives them.
var testPairs = []store.FAQ{
	{ID: 1, Question: "How do I reset my password?", Alternatives: []string{"I forgot my password"}, Answer: "Settings > Security > Reset."},
	{ID: 2, Question: "Do you ship to the United States?", Alternatives: []string{"Do you ship to the USA?"}, Answer: "No, not yet."},
	{ID: 3, Question: "What are your opening hours?", Alternatives: []string{"When are you open?"}, Answer: "9 to 5, Monday to Friday."},
	{ID: 4, Question: "Can I pay with PayPal?", Answer: "Yes."},
	{ID: 5, Question: "How do I cancel my subscription?", Answer: "Account > Plan > Cancel."},
	{ID: 6, Question: "How long does a refund take?", Answer: "Five working days."},
	{ID: 7, Question: "How do I change the delivery address of my order?", Answer: "Before it ships, under Orders."},
	{ID: 8, Question: "Wie kann ich mein Passwort zurücksetzen?", Answer: "Einstellungen > Sicherheit."},
	{ID: 9, Question: "Is the kettle dishwasher safe?", Answer: "No: wipe it with a damp cloth."},
	{ID: 10, Question: "Can I change the delivery address of my order online?", Answer: "Yes, under Orders."},
}

func TestMatchParaphrases(t *testing.T) {
	m := NewMatcher(0)
	m.Load(testPairs)
	for _, tc := range []struct {
		text  string
		id    uint64
		score float64
	}{
		{"How do I reset my password?", 1, 1},
		{"how can I reset my password", 1, 1},
		{"reset password", 1, 1},
		{"Hi, could you please tell me how to reset my password?", 1, 1},
		{"How do I reset my pasword?", 1, 1},              // a typo
		{"how do I reset my password on the app", 1, 0.8}, // one word in three added
		{"I forgot my password", 1, 1},
		{"forgot password!!", 1, 1},
		{"Do you ship to the USA", 2, 1},
		{"do you ship to the united states?", 2, 1},
		{"Opening hours?", 3, 1},
		{"when are you open", 3, 1},
		{"can i pay via paypal", 4, 0.8},
		{"cancel subscription", 5, 1},
		{"how do i cancel my subscriptions", 5, 1},
		{"how long does it take to get a refund", 6, 1},
		{"how do I change the delivery address of my order", 7, 1},
		{"change delivery address", 7, 6.0 / 7},
		{"wie kann ich mein Passwort zurücksetzen", 8, 1},
		{"Passwort zurücksetzen", 8, 1},
		{"is the kettle dishwasher-safe?", 9, 1},
	} {
		f, score, ok := m.Match(tc.text)
		if !ok || f.ID != tc.id || score != tc.score {
			t.Errorf("Match(%q) = pair %d, %.3f, %t; want pair %d, %.3f", tc.text, f.ID, score, ok, tc.id, tc.score)
		}
	}
}

func TestMatchNearMisses(t *testing.T) {
	m := NewMatcher(0)
	m.Load(testPairs)
	for _, text := range []string{
		"How do I reset my router?",                        // shares "reset"
		"what's the password for the wifi?",                // shares "password"
		"How do I reset my passport?",                      // two letters from "password"
		"do you ship to Canada?",                           // shares "ship"
		"How do I cancel my order?",                        // shares "cancel" and "order"
		"how long does delivery take?",                     // shares "how long ... take"
		"how do I change the billing address of my order?", // one word swapped
		"what are your prices?",
		"refund",   // too little of "how long does a refund take"
		"password", // too little of "reset my password"
		"Is the kettle safe for kids?",
		"can I change the billing address of my order online", // Dice 0.8, but a word swapped
		"hello",
		"how do I?",
		"how do I reset my password and cancel my subscription", // two questions
		"can i pay with card",
		"Wie kann ich mein Konto löschen?",
		"",
	} {
		if f, score, ok := m.Match(text); ok {
			t.Errorf("Match(%q) = pair %d (%q) at %.3f; want no match", text, f.ID, f.Question, score)
		}
	}
}

func TestMatchTiesGoToTheOlderPair(t *testing.T) {
	m := NewMatcher(0)
	m.Load([]store.FAQ{
		{ID: 7, Question: "Refund time?", Answer: "newer"},
		{ID: 3, Question: "How long do refunds take?", Alternatives: []string{"refund time"}, Answer: "older"},
	})
	f, score, ok := m.Match("what is the refund time")
	if !ok || f.ID != 3 || score != 1 {
		t.Fatalf("Match = pair %d at %.2f, %t; want pair 3 at 1", f.ID, score, ok)
	}
}

func TestMatchThreshold(t *testing.T) {
	strict := NewMatcher(0.9)
	strict.Load(testPairs)
	if f, s, ok := strict.Match("how do I reset my password on the app"); ok {
		t.Fatalf("at 0.9, a question with a word in three added matched pair %d at %.2f", f.ID, s)
	}
	if _, _, ok := strict.Match("reset my password"); !ok {
		t.Fatal("at 0.9, the same question did not match")
	}
}

func TestMatchEmptyAndReload(t *testing.T) {
	m := NewMatcher(0)
	if _, _, ok := m.Match("reset password"); ok {
		t.Fatal("an empty matcher matched")
	}
	m.Load(testPairs[:1])
	if f, _, ok := m.Match("reset password"); !ok || f.ID != 1 || m.Len() != 1 {
		t.Fatalf("after Load: %+v %t, Len %d", f, ok, m.Len())
	}
	m.Load(nil)
	if _, _, ok := m.Match("reset password"); ok || m.Len() != 0 {
		t.Fatal("a deleted pair still matched")
	}
}

// TestMatchDuringLoad runs matches while the pairs are replaced: under
// -race this checks the swap, and every answer is one of the two sets'.
func TestMatchDuringLoad(t *testing.T) {
	m := NewMatcher(0)
	a := []store.FAQ{{ID: 1, Question: "reset password", Answer: "A"}}
	b := []store.FAQ{{ID: 2, Question: "reset password", Answer: "B"}}
	m.Load(a)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				f, _, ok := m.Match("how do I reset my password")
				if !ok || (f.Answer != "A" && f.Answer != "B") {
					errs <- fmt.Errorf("match during load = %+v, %t", f, ok)
					return
				}
			}
		}()
	}
	for i := range 200 {
		if i%2 == 0 {
			m.Load(b)
		} else {
			m.Load(a)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNearSpelling(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"pasword", "password", true},
		{"password", "pasword", true},
		{"passwrod", "password", true},
		{"passwore", "password", true},
		{"passwords", "password", true},
		{"password", "password", false},
		{"passport", "password", false},
		{"card", "cart", false}, // too short
		{"adress", "address", true},
		{"zurücksetzn", "zurücksetzen", true},
		{"abcde", "abxyz", false},
	} {
		if got := nearSpelling(tc.a, tc.b); got != tc.want {
			t.Errorf("nearSpelling(%q, %q) = %t, want %t", tc.a, tc.b, got, tc.want)
		}
	}
}

func BenchmarkMatch1000Pairs(b *testing.B) {
	pairs := make([]store.FAQ, 1000)
	for i := range pairs {
		pairs[i] = store.FAQ{ID: uint64(i + 1), Question: fmt.Sprintf("How do I configure widget model %d for the warehouse?", i), Answer: "x"}
	}
	pairs = append(pairs, testPairs...)
	m := NewMatcher(0)
	m.Load(pairs)
	b.ResetTimer()
	for range b.N {
		m.Match("how do I reset my pasword on the mobile app")
	}
}

func BenchmarkLoad10000Pairs(b *testing.B) {
	pairs := make([]store.FAQ, 10000)
	for i := range pairs {
		pairs[i] = store.FAQ{ID: uint64(i + 1), Question: fmt.Sprintf("How do I configure widget model %d for the warehouse?", i),
			Alternatives: []string{fmt.Sprintf("configure model %d", i)}, Answer: "x"}
	}
	b.Run("first", func(b *testing.B) {
		for range b.N {
			NewMatcher(0).Load(pairs)
		}
	})
	b.Run("one pair changed", func(b *testing.B) {
		m := NewMatcher(0)
		m.Load(pairs)
		b.ResetTimer()
		for i := range b.N {
			pairs[0].Question = fmt.Sprintf("How do I change setting %d?", i)
			m.Load(pairs)
		}
	})
}
