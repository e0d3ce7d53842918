package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chatbot/chatbot/bench"
)

// benchSection is the section --markdown writes into, one subsection per
// knowledge-base size and user count.
const benchSection = "Performance"

func newBenchCommand(e env) *cobra.Command {
	var (
		o        bench.Options
		binary   string
		workDir  string
		keep     bool
		markdown string
		logPath  string
		seed     uint64
		recallN  int
	)
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure a real chatbot server under load, beside its floors",
		Long: `Start a real 'chatbot serve' on loopback with a fresh data directory, ingest
a generated knowledge base, point a webhook config at a local receiver, and
drive POST /api/webhook/incoming from concurrent users over HTTP keep-alive.

It reports requests per second, latency percentiles, errors by status,
deliveries counted at the receiver and their lag (also in a paced phase at
--paced-fraction of the measured rate, with the commits a delivery costs
counted on /metrics), stored messages, server RSS and CPU, start-up time and
the bbolt file size, each beside its floor measured in the same run: a bare net/http handler decoding the same JSON (HTTP floor),
bbolt puts of the same records with the same fsync setting (storage floor),
bbolt commits of one small record, alone and batched (delivery floor) and
a brute-force dot product over as many vectors (retrieval floor).

Everything runs on this machine: the server, the receiver and the load all
listen on 127.0.0.1, and the run stops by itself. The built-in answerer is used
(--llm none) unless --ollama-host is given. Use it to size a machine: run with
your expected knowledge-base size and number of concurrent conversations.`,
		Example: `  chatbot bench
  chatbot bench --chunks 100000 --users 64 --duration 30s --overload
  chatbot bench --markdown BENCHMARKS.md --cpuprofile cpu.out`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if binary == "" {
				self, err := os.Executable()
				if err != nil {
					return fmt.Errorf("find this binary (give --binary): %w", err)
				}
				binary = self
			}
			if recallN < 0 {
				return fmt.Errorf("--recall-questions must be 0 (skip the recall) or more, not %d", recallN)
			}
			o.Command = bench.BinaryCommander(binary)
			o.Seed = seed
			if workDir == "" {
				dir, err := os.MkdirTemp("", "chatbot-bench-")
				if err != nil {
					return fmt.Errorf("create a work directory: %w", err)
				}
				workDir = dir
				if !keep {
					defer os.RemoveAll(dir)
				}
			}
			o.WorkDir = workDir
			o.Progress = out
			if logPath != "" {
				f, err := os.Create(logPath)
				if err != nil {
					return fmt.Errorf("create --server-log: %w", err)
				}
				defer f.Close()
				o.ServerLog = f
			}
			for _, p := range []*string{&o.CPUProfile, &o.MemProfile} {
				if *p != "" {
					abs, err := filepath.Abs(*p)
					if err != nil {
						return err
					}
					*p = abs
				}
			}
			self, _ := os.Executable()
			rep, err := bench.Run(cmd.Context(), o)
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			switch {
			case recallN <= 0:
			case o.OllamaHost != "":
				rep.Recall = &bench.RecallResult{Err: "the knowledge base was embedded by Ollama; recall is measured with the built-in embedder only"}
			case binary != self:
				rep.Recall = &bench.RecallResult{Err: "the server was another binary (--binary): its data directory is not read by this one"}
			default:
				fmt.Fprintf(out, "recall: the vector search against the exact scan, %d questions\n", recallN)
				rep.Recall = measureRecall(cmd.Context(), rep.DataDir(), bench.NewQuestions(seed), recallN)
			}
			rep.Summary(out)
			if markdown != "" {
				var b strings.Builder
				rep.Markdown(&b, benchCommandLine(cmd))
				sub := fmt.Sprintf("%d chunks, %d users", o.Chunks, o.Users)
				if err := bench.UpdateSection(markdown, benchSection, sub, b.String()); err != nil {
					return err
				}
				fmt.Fprintf(out, "wrote %q in the %q section of %s\n", sub, benchSection, markdown)
			}
			if keep {
				fmt.Fprintf(out, "work directory kept: %s\n", workDir)
			}
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&o.Chunks, "chunks", 10000, "knowledge-base size: generated support articles, one chunk each")
	f.IntVar(&o.Users, "users", 64, "concurrent simulated users, each on its own keep-alive connection")
	f.DurationVar(&o.Duration, "duration", 30*time.Second, "how long the load runs (each floor runs as long, at most 10s)")
	f.IntVar(&o.Requests, "requests", 0, "stop the load after this many requests instead (0: by --duration only)")
	f.IntVar(&o.Conversations, "conversations", 0, "distinct conversations the users write in (0: 4 per user)")
	f.Uint64Var(&seed, "seed", 1, "seed of the generated documents and questions; the same seed makes the same data")
	f.IntVar(&o.Warmup, "warmup", 500, "requests sent before measuring, not counted in the load numbers")
	f.IntVar(&o.SearchQueries, "search-queries", 200, "knowledge searches sent one at a time through the API to time retrieval (0: skip), and the size of the one-user phase that measures overhead (100 when 0)")
	f.IntVar(&recallN, "recall-questions", 100, "after the run, measure the vector search's recall@10 against the exact scan over this many questions, in this process over the run's data directory (0: skip; each costs an exact scan, about 0.1 s at a million chunks)")
	f.DurationVar(&o.DeliveryWait, "delivery-wait", 2*time.Minute, "how long to wait after the load for every outgoing delivery to reach the receiver")
	f.BoolVar(&o.Overload, "overload", false, "after the load, offer --overload-factor times the measured rate and check 429/503 with Retry-After, memory and that every accepted message is stored and delivered")
	f.Float64Var(&o.OverloadFactor, "overload-factor", 10, "overload rate as a multiple of the measured sustainable rate")
	f.DurationVar(&o.OverloadDuration, "overload-duration", 10*time.Second, "how long the overload phase runs")
	f.Float64Var(&o.PacedFraction, "paced-fraction", 0.8, "after the load, offer this fraction of the measured rate on a fixed schedule (open loop) and measure delivery lag and drain (0: skip)")
	f.DurationVar(&o.PacedDuration, "paced-duration", 0, "how long the paced phase offers requests (0: --duration, at most 20s)")
	f.StringVar(&o.OllamaHost, "ollama-host", "", "answer with Ollama at this host instead of the built-in answerer (measures the LLM too)")
	f.StringArrayVar(&o.ServeArgs, "serve-arg", nil, "extra flag for the server, e.g. --serve-arg=--delivery-workers=8 (repeatable)")
	f.StringVar(&binary, "binary", e.or("CHATBOT_BENCH_BINARY", ""), "chatbot binary to run as the server (default: this one) (env CHATBOT_BENCH_BINARY)")
	f.StringVar(&workDir, "work-dir", "", "directory for the data directory and generated documents (default: a temporary one, removed afterwards)")
	f.BoolVar(&keep, "keep", false, "keep the work directory (data, documents, logs) after the run")
	f.StringVar(&markdown, "markdown", "", "write the results table into the \"Performance\" section of this Markdown file, as the subsection for this --chunks and --users (replacing it if present)")
	f.StringVar(&logPath, "server-log", "", "write the server's output to this file (default: discarded)")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "have the server write a CPU profile of its whole run to this file (go tool pprof)")
	f.StringVar(&o.MemProfile, "memprofile", "", "have the server write an allocation profile at exit to this file")
	return c
}

// benchCommandLine is the command as typed, for the table's command column.
func benchCommandLine(cmd *cobra.Command) string {
	parts := []string{"chatbot bench"}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name == "markdown" || f.Name == "work-dir" || f.Name == "server-log" || f.Name == "keep" || f.Name == "binary" {
			return
		}
		parts = append(parts, "--"+f.Name+"="+f.Value.String())
	})
	return strings.Join(parts, " ")
}
