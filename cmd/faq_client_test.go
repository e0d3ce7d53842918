package cmd

import (
	"context"
	"errors"
	"testing"

	"github.com/chatbot/chatbot/client"
)

// TestFAQClientAgainstTheRealServer calls every curated-answer method of
// the client on a running service with answers decoded strictly, as
// TestClientAgainstTheRealServer does for the others.
func TestFAQClientAgainstTheRealServer(t *testing.T) {
	a, _ := startApp(t, config{AdminToken: e2eAdmin, Embedder: "builtin", Answer: answerConfig{LLM: llmNone}})
	c := client.New("http://"+a.Addr(), e2eAdmin).Strict()
	ctx := context.Background()
	q, ans, alts := "Can I pay with PayPal?", "Yes.", []string{"is paypal accepted"}
	f, err := c.CreateFAQ(ctx, client.FAQInput{Question: &q, Answer: &ans, Alternatives: &alts})
	if err != nil || f.ID != 1 || f.Question != q || f.Answer != ans || len(f.Alternatives) != 1 || f.CreatedAt.IsZero() {
		t.Fatalf("CreateFAQ = %+v, %v", f, err)
	}
	newAns := "Yes, and with cards."
	if f, err = c.UpdateFAQ(ctx, 1, client.FAQInput{Answer: &newAns}); err != nil || f.Answer != newAns || f.Question != q {
		t.Fatalf("UpdateFAQ = %+v, %v", f, err)
	}
	if f, err = c.GetFAQ(ctx, 1); err != nil || f.Answer != newAns {
		t.Fatalf("GetFAQ = %+v, %v", f, err)
	}
	res, err := c.ImportFAQs(ctx, []client.FAQPair{{Question: "Opening hours?", Answer: "9 to 5."}, {Question: q, Answer: newAns}})
	if err != nil || res.Added != 1 || res.Updated != 0 || res.Unchanged != 1 {
		t.Fatalf("ImportFAQs = %+v, %v", res, err)
	}
	if fs, err := c.ListFAQs(ctx); err != nil || len(fs) != 2 || fs[1].Question != "Opening hours?" {
		t.Fatalf("ListFAQs = %+v, %v", fs, err)
	}
	m, err := c.MatchFAQ(ctx, "is paypal accepted?")
	if err != nil || !m.Matched || m.Score != 1 || m.FAQ == nil || m.FAQ.ID != 1 {
		t.Fatalf("MatchFAQ = %+v, %v", m, err)
	}
	if m, err = c.MatchFAQ(ctx, "is my card accepted?"); err != nil || m.Matched || m.FAQ != nil {
		t.Fatalf("MatchFAQ near miss = %+v, %v", m, err)
	}
	if err := c.DeleteFAQ(ctx, 1); err != nil {
		t.Fatalf("DeleteFAQ: %v", err)
	}
	var apiErr *client.APIError
	if _, err := c.GetFAQ(ctx, 1); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Fatalf("GetFAQ after delete: %v", err)
	}
	blank := ""
	if _, err := c.CreateFAQ(ctx, client.FAQInput{Question: &q, Answer: &blank}); !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Field != "answer" {
		t.Fatalf("CreateFAQ with a blank answer: %v", err)
	}
}
