package cmd

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"

	"github.com/chatbot/chatbot/internal/server"
)

func newEvalCommand(e env) *cobra.Command {
	var (
		k                      knowledgeFlags
		corpus, queries, qrels string
		runPath, mode          string
	)
	c := &cobra.Command{
		Use:   "eval",
		Short: "Measure retrieval quality on a BEIR-format test set",
		Long: `Index a BEIR corpus in a temporary directory, run the judged queries and print
nDCG@10 (gain 2^rel-1, ideal over all judged documents), recall@10 and MRR@10.
The data directory is not touched.`,
		Example: `  chatbot eval --corpus corpus.jsonl --queries queries.jsonl --qrels qrels/test.tsv
  chatbot eval --corpus c.jsonl --queries q.jsonl --qrels r.tsv --mode all --run out.tsv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			modes := []rag.Mode{rag.Mode(mode)}
			switch mode {
			case "all":
				modes = []rag.Mode{rag.ModeLexical, rag.ModeVector, rag.ModeHybrid}
			case string(rag.ModeHybrid), string(rag.ModeLexical), string(rag.ModeVector):
			default:
				return fmt.Errorf("--mode must be hybrid, lexical, vector or all, not %q", mode)
			}
			docs, err := rag.LoadCorpus(corpus)
			if err != nil {
				return fmt.Errorf("--corpus: %w", err)
			}
			qs, err := rag.LoadQueries(queries)
			if err != nil {
				return fmt.Errorf("--queries: %w", err)
			}
			rels, err := rag.LoadQrels(qrels)
			if err != nil {
				return fmt.Errorf("--qrels: %w", err)
			}
			tmp, err := os.MkdirTemp("", "chatbot-eval-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			st, err := store.Open(tmp, store.Options{NoSync: true})
			if err != nil {
				return err
			}
			defer st.Close()
			if k.openai, err = openaiFromEnv(e); err != nil {
				return err
			}
			emb, err := server.ChooseEmbedder(cmd.Context(), e("OLLAMA_HOST"), st, k.choice())
			if err != nil {
				return err
			}
			ix, err := rag.Open(cmd.Context(), st, emb, rag.Options{})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "indexing %d documents with %s/%s\n", len(docs), ix.Info().Provider, ix.Info().Model)
			if err := rag.IndexCorpus(cmd.Context(), ix, docs, nil); err != nil {
				return err
			}
			var last rag.EvalResult
			for _, m := range modes {
				r, err := rag.Evaluate(cmd.Context(), ix, qs, rels, m)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%-8s queries %d  nDCG@10 %.4f  recall@10 %.4f  MRR@10 %.4f\n", m, r.Queries, r.NDCG10, r.Recall, r.MRR10)
				last = r
			}
			if runPath != "" {
				f, err := os.Create(runPath)
				if err != nil {
					return fmt.Errorf("--run: %w", err)
				}
				if err := rag.WriteRun(f, last.Rankings); err != nil {
					f.Close()
					return fmt.Errorf("--run: %w", err)
				}
				if err := f.Close(); err != nil {
					return fmt.Errorf("--run: %w", err)
				}
				fmt.Fprintf(out, "run written to %s\n", runPath)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&corpus, "corpus", "", "BEIR corpus.jsonl (required)")
	f.StringVar(&queries, "queries", "", "BEIR queries.jsonl (required)")
	f.StringVar(&qrels, "qrels", "", "BEIR qrels TSV: query-id, corpus-id, score (required)")
	f.StringVar(&runPath, "run", "", "write the top 10 per query as TSV (query-id, corpus-id, rank, score); with --mode all, the hybrid run")
	f.StringVar(&mode, "mode", "hybrid", "retrieval: hybrid, lexical, vector, or all (side by side)")
	f.StringVar(&k.embedder, "embedder", e.or("CHATBOT_EMBEDDER", "builtin"), "builtin or ollama (env CHATBOT_EMBEDDER)")
	f.StringVar(&k.embedModel, "embed-model", e.or("CHATBOT_EMBED_MODEL", "nomic-embed-text"), "Ollama embedding model (env CHATBOT_EMBED_MODEL)")
	for _, n := range []string{"corpus", "queries", "qrels"} {
		_ = c.MarkFlagRequired(n)
	}
	return c
}
