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
		suggest                string
	)
	c := &cobra.Command{
		Use:   "eval",
		Short: "Measure retrieval quality on a BEIR-format test set",
		Long: `Index a BEIR corpus in a temporary directory, run the judged queries and print
nDCG@10 (gain 2^rel-1, ideal over all judged documents), recall@10 and MRR@10.
The data directory is not touched.

--suggest-threshold FILE.tsv tunes the relevance threshold (serve's
--min-score) from your own questions instead: each line is a question, a TAB,
and the source of the document that answers it (as "chatbot docs list" shows
it) or "none" for a question that should get no answer. It searches the
knowledge base of --data-dir (or the --corpus, when given) and prints the
threshold that makes the most right answer/no-answer decisions, with the
counts, and those of the threshold in use (calibrated per index by default).`,
		Example: `  chatbot eval --corpus corpus.jsonl --queries queries.jsonl --qrels qrels/test.tsv
  chatbot eval --corpus c.jsonl --queries q.jsonl --qrels r.tsv --mode all --run out.tsv
  chatbot eval --suggest-threshold questions.tsv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if suggest != "" && corpus == "" {
				if !cmd.Flags().Changed("embedder") {
					k.embedder = "auto" // the index's own
				}
				return suggestThreshold(cmd, e, k, suggest, nil)
			}
			if suggest == "" && (corpus == "" || queries == "" || qrels == "") {
				return fmt.Errorf("give --corpus, --queries and --qrels (a BEIR test set), or --suggest-threshold FILE.tsv")
			}
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
			if suggest != "" {
				return suggestThreshold(cmd, e, k, suggest, docs)
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
			// Evaluate ranks without a threshold: no calibration while indexing.
			ix, err := rag.Open(cmd.Context(), st, emb, rag.Options{MinScore: -1})
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
	f.StringVar(&suggest, "suggest-threshold", "", "TSV of question, TAB, expected document source or none: print the threshold (--min-score) with the most right answer/no-answer decisions")
	bindDataDir(f, e, &k.dataDir)
	return c
}

// maxWrongShown bounds the wrongly decided questions listed.
const maxWrongShown = 20

// suggestThreshold prints the threshold with the most right decisions on
// the labelled questions of path, searched in the knowledge base of the
// data directory, or in docs indexed in a temporary one.
func suggestThreshold(cmd *cobra.Command, e env, k knowledgeFlags, path string, docs []rag.BEIRDoc) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--suggest-threshold: %w", err)
	}
	qs, err := rag.ParseLabelled(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("--suggest-threshold %s: %w", path, err)
	}
	ctx := cmd.Context()
	if docs != nil {
		if k.dataDir, err = os.MkdirTemp("", "chatbot-eval-"); err != nil {
			return err
		}
		defer os.RemoveAll(k.dataDir)
	}
	st, ix, err := openKnowledge(ctx, e, k, rag.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	out := cmd.OutOrStdout()
	if docs != nil {
		fmt.Fprintf(out, "indexing %d documents with %s/%s\n", len(docs), ix.Info().Provider, ix.Info().Model)
		if err := rag.IndexCorpus(ctx, ix, docs, nil); err != nil {
			return err
		}
	}
	if ix.Len() == 0 {
		return fmt.Errorf("the knowledge base in %s is empty: ingest your documents first, or give --corpus", k.dataDir)
	}
	if err := ix.Calibrate(ctx); err != nil {
		return err
	}
	best, cur, err := rag.SuggestThreshold(ctx, ix, qs)
	if err != nil {
		return fmt.Errorf("--suggest-threshold %s: %w", path, err)
	}
	total := len(qs)
	fmt.Fprintf(out, "suggested: --min-score %.3f  %d of %d decisions right (%d of %d answerable questions answered from their document, %d of %d others declined)\n",
		best.Threshold, best.Right(), total, best.Answered, best.Answerable, best.Declined, best.OffTopic)
	fmt.Fprintf(out, "in use:    --min-score %.3f  %d of %d decisions right (%d of %d answered, %d of %d declined; auto: calibrated for this index)\n",
		cur.Threshold, cur.Right(), total, cur.Answered, cur.Answerable, cur.Declined, cur.OffTopic)
	for i, q := range best.Wrong {
		if i == maxWrongShown {
			fmt.Fprintf(out, "  ... and %d more\n", len(best.Wrong)-i)
			break
		}
		want := "no answer"
		if q.Expected != "" {
			want = q.Expected
		}
		fmt.Fprintf(out, "  wrong at %.3f: line %d %q (want %s)\n", best.Threshold, q.Line, q.Question, want)
	}
	return nil
}
