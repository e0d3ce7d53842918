package cmd

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
)

func newAskCommand(e env) *cobra.Command {
	var (
		k      knowledgeFlags
		topK   int
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "ask QUESTION",
		Short: "Answer one question from the knowledge base",
		Long: `Ask one question from the terminal: the knowledge base is searched and the
answer is printed with its sources. Without a language model the answer quotes
the most relevant sentences (response type "extractive").`,
		Example: `  chatbot ask "how do I reset my password?"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			passages, err := askSearch(cmd, e, k, args[0], topK)
			if err != nil {
				return err
			}
			answer, used := rag.Extract(args[0], passages, 3)
			kind := "extractive"
			if len(used) == 0 {
				kind = "no_answer"
				answer = "I found nothing relevant to that question in the knowledge base. An agent can help: ask for a human."
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"answer": answer, "response_type": kind, "sources": sourcesOf(used)})
			}
			fmt.Fprintln(out, answer)
			if len(used) > 0 {
				fmt.Fprintln(out, "\nSources:")
				for i, p := range used {
					fmt.Fprintf(out, "  %d. %s (score %.2f)\n", i+1, p.Source, p.Score)
				}
			}
			return nil
		},
	}
	f := c.Flags()
	bindKnowledge(f, e, &k)
	f.IntVar(&topK, "top-k", rag.DefaultK, "passages to retrieve")
	f.Float64Var(&k.minScore, "min-score", rag.DefaultMinScore, "relevance threshold (0..1) below which nothing is answered")
	f.BoolVar(&asJSON, "json", false, "print the answer as JSON")
	return c
}

// askSearch searches the local index, or the running server's when it
// holds the data directory.
func askSearch(cmd *cobra.Command, e env, k knowledgeFlags, question string, topK int) ([]rag.Passage, error) {
	st, ix, err := openKnowledge(cmd.Context(), e, k, rag.Options{})
	if errors.Is(err, store.ErrLocked) {
		c, cerr := serverTarget{dataDir: k.dataDir}.remoteClient(e)
		if cerr != nil {
			return nil, fmt.Errorf("the data directory is held by a running server and its API cannot be used: %w", cerr)
		}
		var resp struct {
			Passages []rag.Passage `json:"passages"`
		}
		if err := c.Do(cmd.Context(), "POST", "/api/knowledge/search", rag.SearchRequest{Query: question, K: topK}, &resp); err != nil {
			return nil, err
		}
		return resp.Passages, nil
	}
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return ix.Search(cmd.Context(), question, topK)
}

type sourceView struct {
	Title  string  `json:"title"`
	Source string  `json:"source"`
	Score  float64 `json:"score"`
}

func sourcesOf(ps []rag.Passage) []sourceView {
	out := make([]sourceView, 0, len(ps))
	for _, p := range ps {
		title := p.Title
		if p.Heading != "" {
			title = p.Heading
		}
		out = append(out, sourceView{Title: title, Source: p.Source, Score: p.Score})
	}
	return out
}
