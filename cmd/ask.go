package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/askapi"
	"github.com/chatbot/chatbot/client"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"

	chatserver "github.com/chatbot/chatbot/internal/server"
)

func newAskCommand(e env) *cobra.Command {
	var (
		k                        knowledgeFlags
		ac                       answerConfig
		topK                     int
		asJSON, verbose          bool
		logLevel, convID, server string
	)
	c := &cobra.Command{
		Use:   "ask QUESTION",
		Short: "Answer one question from the knowledge base, as a user would be answered",
		Long: `Answer one question through the same engine as the webhook: retrieval from the
knowledge base, then an answer from Ollama grounded in the passages and citing
them, or, without a language model, the most relevant sentences quoted
(response type "extractive"; --llm none forces it).

--conversation keeps a conversation across calls, so a follow-up such as
"and how long is it valid?" is understood, and a hand-off ("talk to a
human") opens a live chat whose agent replies come with the next question.
While a server runs (on the data directory, or at --server), the question
goes through its API and the same turn as a platform's message: its
engine, conversation memory and live chat. Without one, ask answers from
the data directory and stores the exchange in its history.`,
		Example: `  chatbot ask "how do I reset my password?"
  chatbot ask --conversation me "can I get a refund?" && chatbot ask --conversation me "how long does it take?"
  chatbot ask --llm none --json "what are your opening hours?"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ac.EmbedModel, ac.TopK = k.embedModel, topK
			// One question is one call: with --llm auto an absent Ollama is
			// the normal case, said in the answer line ("extractive"), not
			// warned about each time; --verbose or --llm ollama show it.
			ac.QuietProbe = !verbose && ac.LLM == llmAuto
			if err := ac.Finish(); err != nil {
				return err
			}
			if err := finishKey(&ac, e); err != nil {
				return err
			}
			k.openai = ac.OpenAI()
			if _, err := parseLevel(logLevel); err != nil {
				return err
			}
			req := askapi.Request{Question: args[0], ConversationID: convID}
			if server != "" {
				return askThroughServer(cmd, e, serverTarget{dataDir: k.dataDir, server: server}, req, asJSON)
			}
			st, err := store.Open(k.dataDir, store.Options{LockTimeout: 300 * time.Millisecond})
			if errors.Is(err, store.ErrLocked) {
				return askThroughServer(cmd, e, serverTarget{dataDir: k.dataDir}, req, asJSON)
			}
			if err != nil {
				return err
			}
			defer st.Close()
			emb, err := chatserver.IndexEmbedder(cmd.Context(), ac.OllamaHosts(), st, k.choice())
			if err != nil {
				return err
			}
			ix, err := rag.Open(cmd.Context(), st, emb, rag.Options{MinScore: k.minScore})
			if err != nil {
				return err
			}
			ans, err := chatserver.NewAnswering(cmd.Context(), ac, st, ix, newLogger(cmd.ErrOrStderr(), logLevel, "text"), nil)
			if err != nil {
				return err
			}
			defer ans.Close(cmd.Context())
			// The same turn as the server's: the question and its answer
			// are stored in the data directory's history.
			turns := conversation.New(st, ans.Engine(), conversation.Options{})
			if err := req.Validate(); err != nil {
				return err
			}
			out, err := turns.Handle(cmd.Context(), askapi.Inbound(req))
			if err != nil {
				return err
			}
			return printAnswer(cmd.OutOrStdout(), askapi.ResponseOf(out), asJSON)
		},
	}
	f := c.Flags()
	bindKnowledge(f, e, &k)
	f.IntVar(&topK, "top-k", 4, "passages to retrieve")
	bindMinScore(f, e, &k.minScore)
	f.BoolVar(&asJSON, "json", false, "print the answer as JSON")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	f.BoolVar(&verbose, "verbose", false, "also warn when the language model is not reachable (with --llm auto the answer line says \"extractive\")")
	f.StringVar(&server, "server", e.or("CHATBOT_SERVER", ""), "URL of a running chatbot server to ask through its API (env CHATBOT_SERVER); default: the local data directory, or the server holding it")
	f.StringVar(&convID, "conversation", "", "conversation id to remember the exchange under; empty: a one-off question")
	bindAnswer(f, e, &ac)
	return c
}

// printAnswer prints the live-chat messages that waited, the answer, its
// numbered sources, and how it was made.
func printAnswer(out io.Writer, r askapi.Response, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		v := map[string]any{"answer": r.Answer, "response_type": r.ResponseType, "sources": r.Sources,
			"fallback": r.Fallback, "latency_ms": r.LatencyMS}
		if len(r.Handed) > 0 {
			v["live_chat_messages"] = r.Handed
		}
		return enc.Encode(v)
	}
	for _, m := range r.Handed {
		fmt.Fprintf(out, "[%s, %s] %s\n", m.Sender, m.SenderType, m.Text)
	}
	if len(r.Handed) > 0 && r.Answer != "" {
		fmt.Fprintln(out)
	}
	if r.Answer != "" {
		fmt.Fprintln(out, r.Answer)
	}
	if len(r.Sources) > 0 {
		fmt.Fprintln(out, "\nSources:")
		for i, s := range r.Sources {
			fmt.Fprintf(out, "  %d. %s (score %.2f)\n", i+1, s.Source, s.Score)
		}
	}
	note := []string{string(r.ResponseType)}
	if r.Fallback != "" {
		note = append(note, "because "+r.Fallback)
	}
	_, err := fmt.Fprintf(out, "\n(%s; %d ms)\n", strings.Join(note, " "), r.LatencyMS)
	return err
}

// askThroughServer puts the question through the running server's turn
// (POST /api/ask): its engine, its conversation memory and live chat, as
// for any platform's message.
func askThroughServer(cmd *cobra.Command, e env, t serverTarget, req askapi.Request, asJSON bool) error {
	c, err := t.remoteClient(e)
	if err != nil {
		return fmt.Errorf("the data directory is held by a running server and its API cannot be used: %w", err)
	}
	got, err := c.Ask(cmd.Context(), client.AskRequest(req))
	if err != nil {
		return err
	}
	r := askapi.Response{Answer: got.Answer, ResponseType: store.ResponseType(got.ResponseType), Fallback: got.Fallback,
		LatencyMS: got.LatencyMS, Sources: []store.MessageSource{}}
	for _, s := range got.Sources {
		r.Sources = append(r.Sources, store.MessageSource(s))
	}
	for _, m := range got.Handed {
		r.Handed = append(r.Handed, askapi.Handed(m))
	}
	return printAnswer(cmd.OutOrStdout(), r, asJSON)
}
