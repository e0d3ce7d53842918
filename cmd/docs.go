package cmd

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/client"
	"github.com/chatbot/chatbot/store"
)

func newDocsCommand(e env) *cobra.Command {
	var t serverTarget
	c := &cobra.Command{
		Use:   "docs",
		Short: "List and remove the documents in the knowledge base",
		Long: `List and remove indexed documents. While 'chatbot serve' runs on the same data
directory, these commands use its API (set CHATBOT_ADMIN_TOKEN).`,
		Example: `  chatbot docs list
  chatbot docs remove ./docs/old.md`,
	}
	bindServerTarget(c, e, &t)
	c.AddCommand(newDocsListCommand(e, &t), newDocsRemoveCommand(e, &t))
	return c
}

// docsBackend is what the docs commands need: the local store, or the API
// of the server holding it.
type docsBackend interface {
	List(ctx context.Context) ([]store.Document, *store.IndexInfo, error)
	Remove(ctx context.Context, id uint64) error
	Close() error
}

type localDocs struct{ st *store.Store }

func (l localDocs) List(context.Context) ([]store.Document, *store.IndexInfo, error) {
	docs, err := l.st.Documents()
	if err != nil {
		return nil, nil, err
	}
	info, err := l.st.KnowledgeIndexInfo()
	if err != nil {
		return docs, nil, nil
	}
	return docs, &info, nil
}
func (l localDocs) Remove(_ context.Context, id uint64) error { return l.st.DeleteDocument(id) }
func (l localDocs) Close() error                              { return l.st.Close() }

type remoteDocs struct{ c *client.Client }

func (r remoteDocs) List(ctx context.Context) ([]store.Document, *store.IndexInfo, error) {
	resp, err := r.c.Documents(ctx)
	if err != nil {
		return nil, nil, err
	}
	info := store.IndexInfo(resp.Index)
	return documentsFromClient(resp.Documents), &info, nil
}
func (r remoteDocs) Remove(ctx context.Context, id uint64) error { return r.c.DeleteDocument(ctx, id) }
func (r remoteDocs) Close() error                                { return nil }

func (t serverTarget) docs(e env) (docsBackend, error) {
	if t.server != "" {
		c, err := t.remoteClient(e)
		if err != nil {
			return nil, err
		}
		return remoteDocs{c: c}, nil
	}
	st, err := store.Open(t.dataDir, store.Options{LockTimeout: 300 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		c, cerr := t.remoteClient(e)
		if cerr != nil {
			return nil, fmt.Errorf("the data directory is held by a running server and its API cannot be used: %w", cerr)
		}
		return remoteDocs{c: c}, nil
	}
	if err != nil {
		return nil, err
	}
	return localDocs{st: st}, nil
}

func newDocsListCommand(e env, t *serverTarget) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List indexed documents",
		Example: "  chatbot docs list --data-dir ./data",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := t.docs(e)
			if err != nil {
				return err
			}
			defer b.Close()
			docs, info, err := b.List(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(docs) == 0 {
				fmt.Fprintln(out, "No documents yet. Add some with: chatbot ingest ./docs")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCHUNKS\tSIZE\tUPDATED\tTITLE\tPATH")
			chunks := 0
			for _, d := range docs {
				chunks += d.Chunks
				fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", d.ID, d.Chunks, humanBytes(d.Size), d.UpdatedAt.Format(time.RFC3339), d.Title, d.Path)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if info != nil {
				fmt.Fprintf(out, "\n%d documents, %d chunks, embedder %s/%s (dimension %d)\n", len(docs), chunks, info.Provider, info.Model, info.Dimension)
			}
			return nil
		},
	}
}

func newDocsRemoveCommand(e env, t *serverTarget) *cobra.Command {
	return &cobra.Command{
		Use:     "remove PATH|ID...",
		Aliases: []string{"rm"},
		Short:   "Remove documents from the knowledge base (by file path or id)",
		Example: "  chatbot docs remove ./docs/old.md\n  chatbot docs remove 12",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := t.docs(e)
			if err != nil {
				return err
			}
			defer b.Close()
			docs, _, err := b.List(cmd.Context())
			if err != nil {
				return err
			}
			for _, ref := range args {
				d, err := findDocument(docs, ref)
				if err != nil {
					return err
				}
				if err := b.Remove(cmd.Context(), d.ID); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed document %d %s (%d chunks).\n", d.ID, d.Path, d.Chunks)
			}
			return nil
		},
	}
}

// findDocument resolves a path (as given or made absolute) or a numeric id.
func findDocument(docs []store.Document, ref string) (store.Document, error) {
	abs, _ := filepath.Abs(ref)
	id, idErr := strconv.ParseUint(ref, 10, 64)
	for _, d := range docs {
		if d.Path == ref || d.Path == abs || (idErr == nil && d.ID == id) {
			return d, nil
		}
	}
	return store.Document{}, fmt.Errorf("no document %q in the knowledge base (see chatbot docs list): %w", ref, store.ErrNotFound)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
