package cmd

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/store"
)

func newDocsCommand(e env) *cobra.Command {
	var dataDir string
	c := &cobra.Command{
		Use:   "docs",
		Short: "List and remove the documents in the knowledge base",
		Example: `  chatbot docs list
  chatbot docs remove ./docs/old.md`,
	}
	bindDataDir(c.PersistentFlags(), e, &dataDir)
	c.AddCommand(newDocsListCommand(&dataDir), newDocsRemoveCommand(&dataDir))
	return c
}

// openDocsStore opens the store for a short knowledge-base command.
func openDocsStore(dataDir string) (*store.Store, error) {
	st, err := store.Open(dataDir, store.Options{LockTimeout: 300 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w\nA running `chatbot serve` holds %s; stop it first to manage documents from the command line", err, dataDir)
	}
	return st, err
}

func newDocsListCommand(dataDir *string) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List indexed documents",
		Example: "  chatbot docs list --data-dir ./data",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openDocsStore(*dataDir)
			if err != nil {
				return err
			}
			defer st.Close()
			docs, err := st.Documents()
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
			info, err := st.KnowledgeIndexInfo()
			if err == nil {
				fmt.Fprintf(out, "\n%d documents, %d chunks, embedder %s/%s (dimension %d)\n", len(docs), chunks, info.Provider, info.Model, info.Dimension)
			}
			return nil
		},
	}
}

func newDocsRemoveCommand(dataDir *string) *cobra.Command {
	return &cobra.Command{
		Use:     "remove PATH|ID...",
		Aliases: []string{"rm"},
		Short:   "Remove documents from the knowledge base (by file path or id)",
		Example: "  chatbot docs remove ./docs/old.md\n  chatbot docs remove 12",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openDocsStore(*dataDir)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, ref := range args {
				d, err := findDocument(st, ref)
				if err != nil {
					return err
				}
				if err := st.DeleteDocument(d.ID); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed document %d %s (%d chunks).\n", d.ID, d.Path, d.Chunks)
			}
			return nil
		},
	}
}

// findDocument resolves a path (as given or absolute) or a numeric id.
func findDocument(st *store.Store, ref string) (store.Document, error) {
	if d, err := st.DocumentByPath(ref); err == nil {
		return d, nil
	}
	if abs, err := filepath.Abs(ref); err == nil {
		if d, err := st.DocumentByPath(abs); err == nil {
			return d, nil
		}
	}
	if id, err := strconv.ParseUint(ref, 10, 64); err == nil {
		return st.Document(id)
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
