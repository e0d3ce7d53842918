package cmd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chatbot/chatbot/crawl"
	"github.com/chatbot/chatbot/internal/netguard"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
)

// webIngestFlags tune `chatbot ingest URL`.
type webIngestFlags struct {
	allow    string
	maxPages int
	maxDepth int
}

func bindWebIngest(f *pflag.FlagSet, e env, w *webIngestFlags) {
	f.StringVar(&w.allow, "allow-outgoing", e.or("CHATBOT_ALLOW_OUTGOING", ""), "for a URL: hosts or CIDRs the crawl may reach although private or loopback (env CHATBOT_ALLOW_OUTGOING)")
	f.IntVar(&w.maxPages, "max-pages", 0, fmt.Sprintf("for a URL: pages fetched (default %d)", crawl.DefaultMaxPages))
	f.IntVar(&w.maxDepth, "max-depth", 0, fmt.Sprintf("for a URL: links followed from the start page (default %d; from a sitemap 0)", crawl.DefaultMaxDepth))
}

func isURL(s string) bool { return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") }

// ingestURL crawls one website once into the local knowledge base, with a
// line (or a bar tick) per page.
func ingestURL(cmd *cobra.Command, e env, k knowledgeFlags, args []string, w webIngestFlags, server string) error {
	if len(args) != 1 {
		return fmt.Errorf("give one URL to crawl (a start page or a sitemap), not %d arguments; ingest files and folders separately", len(args))
	}
	remote := fmt.Errorf("a running server holds the data directory: add the site as a source instead, and the server crawls it: chatbot source add %s", args[0])
	if server != "" {
		return remote
	}
	policy, err := netguard.ParseAllowList(w.allow)
	if err != nil {
		return err
	}
	st, ix, err := openKnowledge(cmd.Context(), e, k, rag.Options{})
	if errors.Is(err, store.ErrLocked) {
		return remote
	}
	if err != nil {
		return err
	}
	defer st.Close()
	opts := crawlDefaults()
	opts.Start, opts.MaxPages, opts.MaxDepth = args[0], w.maxPages, w.maxDepth
	s := rag.NewSyncer(ix, rag.SyncOptions{Policy: policy})
	out := cmd.OutOrStdout()
	tty := isTerminal(out)
	p := newProgress(out, tty)
	if tty { // the page count is not known ahead: a spinner with a count
		p.event(rag.Event{Kind: rag.EventStart, Total: -1})
	}
	fmt.Fprintf(out, "crawling %s\n", args[0])
	done := 0
	rep, err := s.CrawlOnce(cmd.Context(), opts, func(pg crawl.Page, status rag.FileStatus) {
		done++
		p.event(rag.Event{Kind: rag.EventFile, Path: pg.URL, Status: status, Done: done, Total: done})
	})
	p.finish()
	fmt.Fprintf(out, "\n%d pages: %d added, %d updated, %d unchanged, %d skipped; %d requests; %s (%s)\n",
		done, rep.Added, rep.Updated, rep.Unchanged, len(rep.Skipped), rep.Requests, rep.Duration.Round(1e6), ix.Info().Provider+"/"+ix.Info().Model)
	for _, sk := range rep.Skipped {
		fmt.Fprintf(out, "  skipped %s: %s\n", sk.URL, sk.Reason)
	}
	return err
}
