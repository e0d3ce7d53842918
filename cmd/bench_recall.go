package cmd

import (
	"context"
	"time"

	"github.com/chatbot/chatbot/bench"
	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
)

// measureRecall opens the knowledge base a bench run left in dataDir, read
// only and with serve's index options, and measures its vector search's
// recall@10 against the exact scan over the first n of the run's
// questions. It runs after the server has stopped (the data directory's
// lock is free), in this process, because the exact scan is not an API.
func measureRecall(ctx context.Context, dataDir string, questions bench.Questions, n int) *bench.RecallResult {
	t0 := time.Now()
	res := &bench.RecallResult{}
	fail := func(what string, err error) *bench.RecallResult {
		res.Err = what + ": " + err.Error()
		return res
	}
	st, err := store.Open(dataDir, store.Options{ReadOnly: true, NoSync: true})
	if err != nil {
		return fail("open the data directory", err)
	}
	defer st.Close()
	ix, err := rag.Open(ctx, st, embed.NewBuiltin(), rag.Options{})
	if err != nil {
		return fail("open the knowledge base", err)
	}
	defer ix.Close()
	qs := make([]string, n)
	for i := range qs {
		qs[i] = questions.At(i)
	}
	r, err := ix.MeasureVectorRecall(ctx, qs)
	if err != nil {
		return fail("measure", err)
	}
	res.Questions, res.AtTen, res.Approximate, res.Chunks = r.Questions, r.AtTen, r.Approximate, r.Chunks
	res.Took = time.Since(t0)
	return res
}
