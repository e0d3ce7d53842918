package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/client"
	"github.com/chatbot/chatbot/crawl"
	"github.com/chatbot/chatbot/internal/netguard"
	"github.com/chatbot/chatbot/internal/server"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
)

// sourceBackend is where source commands act: the local data directory, or
// a running server's API.
type sourceBackend interface {
	add(ctx context.Context, req rag.SourceRequest) (store.Source, error)
	list(ctx context.Context) ([]store.Source, error)
	show(ctx context.Context, id uint64) (rag.SourceView, error)
	remove(ctx context.Context, id uint64) error
	sync(ctx context.Context, id uint64) (rag.SyncReport, error)
	close()
}

type sourceFlags struct {
	k     knowledgeFlags
	t     serverTarget
	allow string
}

func newSourceCommand(e env) *cobra.Command {
	var f sourceFlags
	c := &cobra.Command{
		Use:   "source",
		Short: "Manage knowledge sources: websites, sitemaps and folders kept in sync",
		Long: `A knowledge source is a website (a start page or a sitemap URL), a folder below a
knowledge root, or a set of uploads. A running server syncs each source on its
schedule (--every), one at a time: new pages are added, changed ones replaced,
pages gone for two syncs in a row removed. Removing a source removes its
documents.

While 'chatbot serve' runs on the data directory these commands go through its
API (set CHATBOT_ADMIN_TOKEN); otherwise they work on the data directory.`,
		Example: `  chatbot source add https://help.example.com/sitemap.xml --every 6h
  chatbot source list
  chatbot source sync 1`,
	}
	pf := c.PersistentFlags()
	bindKnowledge(pf, e, &f.k)
	pf.StringVar(&f.t.server, "server", e.or("CHATBOT_SERVER", ""), "URL of a running chatbot server (env CHATBOT_SERVER); default: the local data directory, or the server holding it")
	pf.StringVar(&f.allow, "allow-outgoing", e.or("CHATBOT_ALLOW_OUTGOING", ""), "hosts or CIDRs a local crawl may reach although private or loopback (env CHATBOT_ALLOW_OUTGOING)")
	c.AddCommand(newSourceAdd(e, &f), newSourceList(e, &f), newSourceShow(e, &f), newSourceRemove(e, &f), newSourceSync(e, &f))
	return c
}

func newSourceAdd(e env, f *sourceFlags) *cobra.Command {
	var (
		req    rag.SourceRequest
		every  time.Duration
		noSync bool
	)
	c := &cobra.Command{
		Use:   "add URL|FOLDER",
		Short: "Add a website (start page or sitemap) or a folder, and sync it now",
		Example: `  chatbot source add https://help.example.com/sitemap.xml --every 6h
  chatbot source add https://example.com/docs/ --include '/docs/*' --max-pages 500 --every 24h
  chatbot source add /srv/kb/policies --every 1h`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Location, req.Every = args[0], store.Duration(every)
			if req.Kind == "" {
				req.Kind = store.SourceFolder
				if strings.HasPrefix(args[0], "http://") || strings.HasPrefix(args[0], "https://") {
					req.Kind = store.SourceWebsite
				}
			}
			b, err := f.backend(cmd.Context(), e)
			if err != nil {
				return err
			}
			defer b.close()
			src, err := b.add(cmd.Context(), req)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "source %d added: %s %s\n", src.ID, src.Kind, src.Location)
			if _, remote := b.(remoteSources); remote && !noSync {
				// The server's scheduler starts the first sync at once.
				fmt.Fprintf(out, "the server is syncing it now; follow it with: chatbot source show %d\n", src.ID)
				return nil
			}
			if noSync {
				return nil
			}
			rep, err := b.sync(cmd.Context(), src.ID)
			printSyncReport(out, rep)
			return err
		},
	}
	fl := c.Flags()
	fl.StringVar(&req.Kind, "kind", "", "website, folder or upload (default: website for an http(s) URL, else folder)")
	fl.StringVar(&req.Name, "name", "", "a name to show (default: the host or the folder)")
	fl.DurationVar(&every, "every", 0, "re-sync interval, e.g. 6h (at least 5m; default: only when asked)")
	fl.StringSliceVar(&req.Hosts, "host", nil, "another host the crawl may follow links and redirects to (repeatable)")
	fl.StringSliceVar(&req.Include, "include", nil, "crawl only URL paths matching this pattern, * for any run of characters (repeatable)")
	fl.StringSliceVar(&req.Exclude, "exclude", nil, "skip URL paths matching this pattern (repeatable)")
	fl.IntVar(&req.MaxPages, "max-pages", 0, fmt.Sprintf("pages fetched per sync (default %d)", crawl.DefaultMaxPages))
	fl.IntVar(&req.MaxDepth, "max-depth", 0, fmt.Sprintf("links followed from the start page (default %d; from a sitemap 0)", crawl.DefaultMaxDepth))
	fl.BoolVar(&noSync, "no-sync", false, "only record the source; the server syncs it")
	return c
}

func newSourceList(e env, f *sourceFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Example: "  chatbot source list",
		Short:   "List the knowledge sources with their last sync",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := f.backend(cmd.Context(), e)
			if err != nil {
				return err
			}
			defer b.close()
			srcs, err := b.list(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tLOCATION\tEVERY\tDOCS\tLAST SYNC\tNEXT SYNC\tERROR")
			for _, s := range srcs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.ID, s.Kind, s.Location, every(s.Every), s.Documents,
					when(s.LastSync), when(s.NextSync), s.LastError)
			}
			return tw.Flush()
		},
	}
}

func newSourceShow(e env, f *sourceFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Example: "  chatbot source show 1",
		Short:   "Show a source, its sync state and its documents",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := sourceID(args[0])
			if err != nil {
				return err
			}
			b, err := f.backend(cmd.Context(), e)
			if err != nil {
				return err
			}
			defer b.close()
			v, err := b.show(cmd.Context(), id)
			if err != nil {
				return err
			}
			s, out := v.Source, cmd.OutOrStdout()
			fmt.Fprintf(out, "source %d (%s): %s\n  name: %s\n  every: %s\n  last sync: %s (fetched %d, unchanged %d, removed %d)\n  next sync: %s\n  documents: %d (%d chunks)\n",
				s.ID, s.Kind, s.Location, s.Name, every(s.Every), when(s.LastSync), s.Fetched, s.Unchanged, s.Removed, when(s.NextSync), s.Documents, s.Chunks)
			if s.LastError != "" {
				fmt.Fprintf(out, "  last error: %s (the documents of the last good sync are kept)\n", s.LastError)
			}
			for _, d := range v.Documents {
				fmt.Fprintf(out, "  %d  %s  %s\n", d.ID, d.Source, d.Title)
			}
			return nil
		},
	}
}

func newSourceRemove(e env, f *sourceFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "remove ID",
		Example: "  chatbot source remove 1",
		Short:   "Remove a source and all its documents",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := sourceID(args[0])
			if err != nil {
				return err
			}
			b, err := f.backend(cmd.Context(), e)
			if err != nil {
				return err
			}
			defer b.close()
			if err := b.remove(cmd.Context(), id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "source %d and its documents removed\n", id)
			return nil
		},
	}
}

func newSourceSync(e env, f *sourceFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "sync ID",
		Example: "  chatbot source sync 1",
		Short:   "Sync a source now",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := sourceID(args[0])
			if err != nil {
				return err
			}
			b, err := f.backend(cmd.Context(), e)
			if err != nil {
				return err
			}
			defer b.close()
			rep, err := b.sync(cmd.Context(), id)
			printSyncReport(cmd.OutOrStdout(), rep)
			return err
		},
	}
}

func sourceID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("ID must be a source's number (see chatbot source list), not %q", s)
	}
	return id, nil
}

func every(d store.Duration) string {
	if d == 0 {
		return "when asked"
	}
	return time.Duration(d).String()
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func printSyncReport(w io.Writer, r rag.SyncReport) {
	if r.Source.ID == 0 {
		return
	}
	fmt.Fprintf(w, "synced source %d: %d added, %d updated, %d unchanged, %d removed; %d requests; %s\n",
		r.Source.ID, r.Added, r.Updated, r.Unchanged, r.Removed, r.Requests, r.Duration.Round(time.Millisecond))
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "  skipped %s: %s\n", s.URL, s.Reason)
	}
}

// backend opens the data directory, or, when a server holds it (or
// --server is given), its API.
func (f *sourceFlags) backend(ctx context.Context, e env) (sourceBackend, error) {
	f.t.dataDir = f.k.dataDir
	if f.t.server != "" {
		return f.remote(e)
	}
	st, ix, err := openKnowledge(ctx, e, f.k, rag.Options{})
	if errors.Is(err, store.ErrLocked) {
		return f.remote(e)
	}
	if err != nil {
		return nil, err
	}
	policy, err := netguard.ParseAllowList(f.allow)
	if err != nil {
		st.Close()
		return nil, err
	}
	s := rag.NewSyncer(ix, rag.SyncOptions{Access: rag.LocalAccess(f.k.dataDir, false), Policy: policy, Crawl: crawlDefaults()})
	return localSources{st: st, s: s}, nil
}

func (f *sourceFlags) remote(e env) (sourceBackend, error) {
	c, err := f.t.remoteClient(e)
	if err != nil {
		return nil, fmt.Errorf("the data directory is held by a running server and its API cannot be used: %w", err)
	}
	return remoteSources{c}, nil
}

// crawlDefaults are the polite defaults of every crawl (the server's).
func crawlDefaults() crawl.Options { return server.CrawlDefaults(Version()) }

type localSources struct {
	st *store.Store
	s  *rag.Syncer
}

func (l localSources) add(_ context.Context, r rag.SourceRequest) (store.Source, error) {
	return l.s.AddSource(store.Source{Kind: r.Kind, Name: r.Name, Location: r.Location, Every: r.Every, Hosts: r.Hosts,
		Include: r.Include, Exclude: r.Exclude, MaxPages: r.MaxPages, MaxDepth: r.MaxDepth})
}
func (l localSources) list(context.Context) ([]store.Source, error) { return l.st.Sources() }
func (l localSources) show(_ context.Context, id uint64) (rag.SourceView, error) {
	src, err := l.st.Source(id)
	if err != nil {
		return rag.SourceView{}, err
	}
	docs, err := l.st.SourceDocuments(id)
	return rag.SourceView{Source: src, Documents: docs}, err
}
func (l localSources) remove(ctx context.Context, id uint64) error { return l.s.RemoveSource(ctx, id) }
func (l localSources) sync(ctx context.Context, id uint64) (rag.SyncReport, error) {
	return l.s.Sync(ctx, id)
}
func (l localSources) close() { l.st.Close() }

type remoteSources struct{ c *client.Client }

func (r remoteSources) add(ctx context.Context, req rag.SourceRequest) (store.Source, error) {
	s, err := r.c.CreateSource(ctx, sourceRequestToClient(req))
	return sourceFromClient(s), err
}
func (r remoteSources) list(ctx context.Context) ([]store.Source, error) {
	s, err := r.c.ListSources(ctx)
	return sourcesFromClient(s), err
}
func (r remoteSources) show(ctx context.Context, id uint64) (rag.SourceView, error) {
	v, err := r.c.GetSource(ctx, id)
	return sourceViewFromClient(v), err
}
func (r remoteSources) remove(ctx context.Context, id uint64) error { return r.c.DeleteSource(ctx, id) }
func (r remoteSources) sync(ctx context.Context, id uint64) (rag.SyncReport, error) {
	rep, err := r.c.SyncSource(ctx, id)
	return syncReportFromClient(rep), err
}
func (r remoteSources) close() {}
