package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
		asJSON, verbose        bool
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
"and how long is it valid?" is understood. While a server holds the data
directory, ask searches through its API and answers extractively.`,
		Example: `  chatbot ask "how do I reset my password?"
  chatbot ask --conversation me "can I get a refund?" && chatbot ask --conversation me "how long does it take?"
  chatbot ask --llm none --json "what are your opening hours?"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ac.EmbedModel, ac.topK = k.embedModel, topK
			// One question is one call: with --llm auto an absent Ollama is
			// the normal case, said in the answer line ("extractive"), not
			// warned about each time; --verbose or --llm ollama show it.
			ac.quietProbe = !verbose && ac.LLM == llmAuto
			if err := ac.finish(); err != nil {
				return err
			}
			if err := ac.finishKey(e); err != nil {
				return err
			}
			k.openai = ac.openaiServers()
			if _, err := parseLevel(logLevel); err != nil {
				return err
			}
			st, err := store.Open(k.dataDir, store.Options{LockTimeout: 300 * time.Millisecond})
			if errors.Is(err, store.ErrLocked) {
				return askThroughServer(cmd, e, k, args[0], topK, asJSON)
			}
			if err != nil {
				return err
			}
			defer st.Close()
			emb, err := indexEmbedder(cmd.Context(), ac.ollamaHosts(), st, k)
			if err != nil {
				return err
			}
			ix, err := rag.Open(cmd.Context(), st, emb, rag.Options{MinScore: k.minScore})
			if err != nil {
				return err
			}
			ans, err := newAnswering(cmd.Context(), ac, st, ix, newLogger(cmd.ErrOrStderr(), logLevel, "text"), nil)
			if err != nil {
				return err
			}
			defer ans.close(cmd.Context())
			r, err := ans.engine.Answer(cmd.Context(), chat.Request{Platform: "cli", ConversationID: conversation, UserID: "cli", Text: args[0]})
			if err != nil {
				return err
			}
			return printReply(cmd.OutOrStdout(), r, asJSON)
		},
	}
	f := c.Flags()
	bindKnowledge(f, e, &k)
	f.IntVar(&topK, "top-k", 4, "passages to retrieve")
	f.Float64Var(&k.minScore, "min-score", rag.DefaultMinScore, "relevance threshold (0..1) below which nothing is answered")
	f.BoolVar(&asJSON, "json", false, "print the answer as JSON")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	f.BoolVar(&verbose, "verbose", false, "also warn when the language model is not reachable (with --llm auto the answer line says \"extractive\")")
	f.StringVar(&conversation, "conversation", "", "conversation id to remember the exchange under; empty: a one-off question")
	bindAnswer(f, e, &ac)
	return c
}

// printReply prints the answer, its numbered sources, and how it was made.
func printReply(out io.Writer, r chat.Reply, asJSON bool) error {
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
	_, err := fmt.Fprintf(out, "\n(%s; %d ms)\n", strings.Join(note, " "), r.Total.Milliseconds())
	return err
}

// askThroughServer searches through the API of the server that holds the
// data directory and answers extractively (the server's engine and the
// conversation memory are its own).
func askThroughServer(cmd *cobra.Command, e env, k knowledgeFlags, question string, topK int, asJSON bool) error {
	start := time.Now()
	c, err := serverTarget{dataDir: k.dataDir}.remoteClient(e)
	if err != nil {
		return fmt.Errorf("the data directory is held by a running server and its API cannot be used: %w", err)
	}
	passages, err := c.Search(cmd.Context(), question, topK)
	if err != nil {
		return err
	}
	r := chat.Reply{Type: chat.TypeExtractive, Fallback: chat.FallbackDisabled, Sources: []chat.Source{}}
	answer, used := rag.Extract(question, passagesFromClient(passages), 3)
	if len(used) == 0 {
		r.Type, r.Fallback = chat.TypeNoAnswer, ""
		answer = "I found nothing relevant to that question in the knowledge base. An agent can help: ask for a human."
	}
	r.Answer = answer
	for _, p := range used {
		title := p.Title
		if p.Heading != "" {
			title = p.Heading
		}
		r.Sources = append(r.Sources, chat.Source{Title: title, Source: p.Source, Score: p.Score})
	}
	r.Total = time.Since(start)
	return printReply(cmd.OutOrStdout(), r, asJSON)
}
