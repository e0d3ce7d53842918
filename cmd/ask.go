package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
)

func newAskCommand(e env) *cobra.Command {
	var (
		k                      knowledgeFlags
		ac                     answerConfig
		topK                   int
		asJSON                 bool
		logLevel, conversation string
	)
	c := &cobra.Command{
		Use:   "ask QUESTION",
		Short: "Answer one question from the knowledge base, as a user would be answered",
		Long: `Answer one question through the same engine as the webhook: retrieval from the
knowledge base, then an answer from Ollama grounded in the passages and citing
them, or, without a language model, the most relevant sentences quoted
(response type "extractive"; --llm none forces it).

--conversation keeps a conversation across calls, so a follow-up such as
"and how long is it valid?" is understood. The server must not be running on
the same --data-dir (it holds the database).`,
		Example: `  chatbot ask "how do I reset my password?"
  chatbot ask --conversation me "can I get a refund?" && chatbot ask --conversation me "how long does it take?"
  chatbot ask --llm none --json "what are your opening hours?"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ac.EmbedModel, ac.topK = k.embedModel, topK
			if err := ac.finish(); err != nil {
				return err
			}
			if _, err := parseLevel(logLevel); err != nil {
				return err
			}
			log := newLogger(cmd.ErrOrStderr(), logLevel, "text")
			st, err := store.Open(k.dataDir, store.Options{LockTimeout: 300 * time.Millisecond})
			if errors.Is(err, store.ErrLocked) {
				return fmt.Errorf("%w\nA running `chatbot serve` holds %s: ask through its webhook, or stop it first", err, k.dataDir)
			}
			if err != nil {
				return err
			}
			defer st.Close()
			emb, err := indexEmbedder(cmd.Context(), ac.ollamaURL.String(), st, k)
			if err != nil {
				return err
			}
			ix, err := rag.Open(cmd.Context(), st, emb, rag.Options{MinScore: k.minScore})
			if err != nil {
				return err
			}
			ans, err := newAnswering(cmd.Context(), ac, st, ix, log, nil)
			if err != nil {
				return err
			}
			defer ans.close(cmd.Context())
			r, err := ans.engine.Answer(cmd.Context(), chat.Request{Platform: "cli", ConversationID: conversation, UserID: "cli", Text: args[0]})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"answer": r.Answer, "response_type": r.Type, "sources": r.Sources,
					"fallback": r.Fallback, "latency_ms": r.Total.Milliseconds()})
			}
			fmt.Fprintln(out, r.Answer)
			if len(r.Sources) > 0 {
				fmt.Fprintln(out, "\nSources:")
				for i, s := range r.Sources {
					fmt.Fprintf(out, "  %d. %s (score %.2f)\n", i+1, s.Source, s.Score)
				}
			}
			note := []string{string(r.Type)}
			if r.Fallback != "" {
				note = append(note, "because "+r.Fallback)
			}
			fmt.Fprintf(out, "\n(%s; %d ms)\n", strings.Join(note, " "), r.Total.Milliseconds())
			return nil
		},
	}
	f := c.Flags()
	bindKnowledge(f, e, &k)
	f.IntVar(&topK, "top-k", 4, "passages to retrieve")
	f.Float64Var(&k.minScore, "min-score", rag.DefaultMinScore, "relevance threshold (0..1) below which nothing is answered")
	f.BoolVar(&asJSON, "json", false, "print the answer as JSON")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	f.StringVar(&conversation, "conversation", "", "conversation id to remember the exchange under; empty: a one-off question")
	bindAnswer(f, e, &ac)
	return c
}
