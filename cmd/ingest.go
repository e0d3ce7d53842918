package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/chatbot/chatbot/client"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
)

func newIngestCommand(e env) *cobra.Command {
	var (
		k       knowledgeFlags
		opts    rag.IngestOptions
		reindex bool
		maxMB   int
		server  string
		follow  bool
		web     webIngestFlags
	)
	c := &cobra.Command{
		Use:   "ingest PATH...",
		Short: "Add documents (Markdown, text, HTML) to the knowledge base",
		Long: `Ingest files and folders (recursively), or crawl a website once (a start
page or a sitemap URL; see 'chatbot source add' to keep it in sync), into
the knowledge base in the data directory. Unchanged files are skipped by content hash, changed files replace
their old chunks, --prune removes documents whose files are gone. Hidden files,
binaries, unsupported types and files without an extension (unless named
themselves) are skipped and listed in the summary. A symbolic link that leads
out of a folder given is skipped (and listed) unless --follow-symlinks; the
data directory is never read.

While 'chatbot serve' runs on the same data directory, ingest goes through its
API (POST /api/knowledge/ingest; set CHATBOT_ADMIN_TOKEN): the server reads
the files, and only below its --knowledge-root folders, so give paths there.`,
		Example: `  chatbot ingest ./docs
  chatbot ingest ./docs ./faq.md --prune
  chatbot ingest ./docs --base-url https://help.example.com/
  chatbot ingest ./docs --reindex --embedder ollama
  chatbot ingest https://help.example.com/sitemap.xml --max-pages 200`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if maxMB <= 0 {
				return fmt.Errorf("--max-file-size must be a positive number of MB, not %d", maxMB)
			}
			opts.MaxFileSize = int64(maxMB) << 20
			if opts.BaseURL != "" {
				if isURL(args[0]) {
					return errors.New("--base-url applies to files and folders: a crawled page's citation is already its own URL")
				}
				if _, err := rag.PublicURL(opts.BaseURL); err != nil {
					return fmt.Errorf("--base-url %q: %w (e.g. --base-url https://help.example.com/)", opts.BaseURL, err)
				}
			}
			if isURL(args[0]) {
				return ingestURL(cmd, e, k, args, web, server)
			}
			if server != "" && follow {
				return errFollowRemote
			}
			if server != "" {
				return ingestRemote(cmd, e, serverTarget{dataDir: k.dataDir, server: server}, args, opts, reindex)
			}
			st, ix, err := openKnowledge(cmd.Context(), e, k, rag.Options{Reindex: reindex})
			if errors.Is(err, store.ErrLocked) {
				if follow {
					return errFollowRemote
				}
				return ingestRemote(cmd, e, serverTarget{dataDir: k.dataDir}, args, opts, reindex)
			}
			if err != nil {
				return err
			}
			defer st.Close()
			defer ix.Close() // before the store: writes the snapshot (a failure only costs the next start a rebuild)
			out := cmd.OutOrStdout()
			p := newProgress(out, isTerminal(out))
			opts.Progress = p.event
			opts.Access = rag.LocalAccess(k.dataDir, follow)
			sum, err := ix.Ingest(cmd.Context(), args, opts)
			p.finish()
			printSummary(out, sum, ix.Info().Provider+"/"+ix.Info().Model)
			if err != nil {
				return err
			}
			return checkYield(sum, args)
		},
	}
	f := c.Flags()
	bindKnowledge(f, e, &k)
	f.BoolVar(&reindex, "reindex", false, "drop the whole index and rebuild it (needed after changing the embedder)")
	f.BoolVar(&opts.Prune, "prune", false, "remove documents whose files no longer exist")
	f.IntVar(&opts.Chunk.Size, "chunk-size", 1000, "target chunk size in characters")
	f.IntVar(&opts.Chunk.Overlap, "chunk-overlap", 150, "characters repeated between consecutive chunks of a section")
	f.StringVar(&server, "server", e.or("CHATBOT_SERVER", ""), "URL of a running chatbot server to ingest through (env CHATBOT_SERVER); default: the local data directory, or the server holding it")
	f.IntVar(&maxMB, "max-file-size", rag.DefaultMaxFileSize>>20, "skip files larger than this many MB")
	f.StringVar(&opts.BaseURL, "base-url", "", "public URL the folders are published under, for citations customers can follow: docs/refunds.md under https://help.example.com/ cites https://help.example.com/refunds (a file's front matter url: wins)")
	bindWebIngest(f, e, &web)
	f.BoolVar(&follow, "follow-symlinks", false, "follow symbolic links that lead out of the folders given (local ingest only; the data directory is never read)")
	return c
}

// errFollowRemote refuses --follow-symlinks through a server, which reads
// only below its knowledge roots whatever the client asks.
var errFollowRemote = errors.New("--follow-symlinks applies to a local ingest only: a running server reads only below its --knowledge-root folders; " +
	"put the documents (not links to them) there, or stop `chatbot serve` and ingest locally")

// ingestRemote asks the running server to ingest the paths (made absolute:
// the server reads them).
func ingestRemote(cmd *cobra.Command, e env, t serverTarget, args []string, opts rag.IngestOptions, reindex bool) error {
	if reindex {
		return fmt.Errorf("--reindex cannot run while the server holds %s: stop `chatbot serve`, run ingest --reindex, start it again", t.dataDir)
	}
	c, err := t.remoteClient(e)
	if err != nil {
		return fmt.Errorf("the data directory is held by a running server and its API cannot be used: %w", err)
	}
	req := client.IngestRequest{Prune: opts.Prune, ChunkSize: opts.Chunk.Size, ChunkOverlap: opts.Chunk.Overlap, MaxFileMB: int(opts.MaxFileSize >> 20),
		BaseURL: opts.BaseURL}
	for _, a := range args {
		abs, err := filepath.Abs(a)
		if err != nil {
			return err
		}
		req.Paths = append(req.Paths, abs)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "a server holds the data directory; ingesting through its API\n")
	sum, err := c.Ingest(cmd.Context(), req)
	if err != nil {
		return err
	}
	summary := summaryFromClient(sum)
	printSummary(out, summary, "server")
	return checkYield(summary, args)
}

// checkYield fails an ingest whose paths held no document it could index
// (an empty or mistyped folder, or only unsupported files): exiting 0 with
// "0 files" let a wrong path in a script go unnoticed. A --prune that
// removed documents did what was asked and passes.
func checkYield(s rag.Summary, paths []string) error {
	if s.Added+s.Updated+s.Unchanged > 0 || s.Removed > 0 {
		return nil
	}
	what := "no files"
	if len(s.Skipped) > 0 {
		what = fmt.Sprintf("no supported documents (%d skipped, listed above)", len(s.Skipped))
	}
	return fmt.Errorf("nothing ingested: %s found in %s; check the path, or add Markdown, text or HTML files there",
		what, strings.Join(paths, ", "))
}

// progress shows a bar on a terminal and one line per file otherwise.
type progress struct {
	out io.Writer
	bar *progressbar.ProgressBar
	tty bool
}

// newProgress reports to out: with a bar when tty (out is a terminal, as
// the command decides with isTerminal), else with one line per file.
func newProgress(out io.Writer, tty bool) *progress {
	return &progress{out: out, tty: tty}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *progress) event(ev rag.Event) {
	switch ev.Kind {
	case rag.EventStart:
		if p.tty {
			p.bar = progressbar.NewOptions(ev.Total, progressbar.OptionSetWriter(p.out),
				progressbar.OptionSetDescription("ingesting"), progressbar.OptionShowCount(),
				progressbar.OptionClearOnFinish())
			return
		}
		fmt.Fprintf(p.out, "ingesting %d files (%.1f MB)\n", ev.Total, float64(ev.Bytes)/(1<<20))
	case rag.EventFile:
		if p.bar != nil {
			_ = p.bar.Add(1)
			return
		}
		line := fmt.Sprintf("[%d/%d] %s: %s", ev.Done, ev.Total, ev.Path, ev.Status)
		if ev.Reason != "" {
			line += " (" + ev.Reason + ")"
		} else if ev.Chunks > 0 {
			line += fmt.Sprintf(", %d chunks", ev.Chunks)
		}
		fmt.Fprintln(p.out, line)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

func printSummary(w io.Writer, s rag.Summary, embedder string) {
	mbps := 0.0
	if s.Duration > 0 {
		mbps = float64(s.Bytes) / (1 << 20) / s.Duration.Seconds()
	}
	fmt.Fprintf(w, "\n%d files: %d added, %d updated, %d unchanged, %d skipped, %d removed; %d chunks written; %s (%.1f MB/s, %s)\n",
		s.Files, s.Added, s.Updated, s.Unchanged, len(s.Skipped), s.Removed, s.Chunks,
		s.Duration.Round(time.Millisecond), mbps, embedder)
	for _, sk := range s.Skipped {
		fmt.Fprintf(w, "  skipped %s: %s\n", sk.Path, sk.Reason)
	}
	for _, wn := range s.Warnings {
		fmt.Fprintf(w, "  warning %s: %s\n", wn.Path, wn.Reason)
	}
}
