package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/client"
	"github.com/chatbot/chatbot/faq"
	"github.com/chatbot/chatbot/store"
)

// faqBackend is where faq commands act: the local data directory, or the
// running server's API (/api/faq) while it holds it, so that the server's
// matcher learns every change at once.
type faqBackend interface {
	add(ctx context.Context, question, answer string, alts []string) (store.FAQ, error)
	list(ctx context.Context) ([]store.FAQ, error)
	remove(ctx context.Context, id uint64) error
	importPairs(ctx context.Context, pairs []faq.Pair) (store.FAQImport, error)
	match(ctx context.Context, question string) (store.FAQ, float64, bool, error)
	close()
}

func newFAQCommand(e env) *cobra.Command {
	var t serverTarget
	c := &cobra.Command{
		Use:   "faq",
		Short: "Manage curated answers: your own answers to questions, given instead of generated ones",
		Long: `A curated answer is a question (with optional alternative phrasings) and the
answer to give, word for word, when a user's question matches it closely
enough: the same content words, or one with at most one word in three added
("reset password" and "how do I reset my password on the app" match "How do I
reset my password?"; "how do I reset my router?" does not). It wins over the
generated and the extractive answer, with response_type "curated" and the pair
as its source. This is how a wrong answer is fixed in a minute.

While 'chatbot serve' runs on the same data directory, these commands use its
API (/api/faq; set CHATBOT_ADMIN_TOKEN), and the server uses a change at once.`,
		Example: `  chatbot faq add --question "Do you ship to the USA?" --answer "Not yet: we ship within the EU and the UK."
  chatbot faq import faq.csv
  chatbot faq test "do you deliver to the usa?"
  chatbot faq list
  chatbot faq remove 3`,
	}
	bindServerTarget(c, e, &t)
	c.AddCommand(newFAQAdd(e, &t), newFAQList(e, &t), newFAQRemove(e, &t), newFAQImport(e, &t), newFAQTest(e, &t))
	return c
}

func newFAQAdd(e env, t *serverTarget) *cobra.Command {
	var (
		question, answer string
		alts             []string
	)
	c := &cobra.Command{
		Use:   "add",
		Short: "Add a curated answer",
		Example: `  chatbot faq add --question "Can I pay with PayPal?" --answer "Yes, and with all major cards." --alt "is paypal accepted"
  chatbot faq add --question "What are your opening hours?" --answer "$(cat hours.md)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(question) == "" {
				return errors.New("--question is required: the customer's question this answer is for")
			}
			if strings.TrimSpace(answer) == "" {
				return errors.New("--answer is required: the reply to give, as it should be sent")
			}
			b, err := t.faqs(e)
			if err != nil {
				return err
			}
			defer b.close()
			f, err := b.add(cmd.Context(), question, answer, alts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "curated answer %d added: %s\n", f.ID, f.Question)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&question, "question", "", "the question, as a customer would ask it (required)")
	fl.StringVar(&answer, "answer", "", "the answer, sent as written; Markdown is fine (required)")
	fl.StringArrayVar(&alts, "alt", nil, "another way the question is asked (repeatable)")
	return c
}

func newFAQList(e env, t *serverTarget) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the curated answers",
		Example: "  chatbot faq list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := t.faqs(e)
			if err != nil {
				return err
			}
			defer b.close()
			fs, err := b.list(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tQUESTION\tALTERNATIVES\tANSWER")
			for _, f := range fs {
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s\n", f.ID, f.Question, len(f.Alternatives), clip(f.Answer, 60))
			}
			return tw.Flush()
		},
	}
}

// clip is s on one line, cut to n characters.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func newFAQRemove(e env, t *serverTarget) *cobra.Command {
	return &cobra.Command{
		Use:     "remove ID",
		Short:   "Remove a curated answer",
		Example: "  chatbot faq remove 3",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil || id == 0 {
				return fmt.Errorf("ID must be a curated answer's number (see chatbot faq list), not %q", args[0])
			}
			b, err := t.faqs(e)
			if err != nil {
				return err
			}
			defer b.close()
			if err := b.remove(cmd.Context(), id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "curated answer %d removed\n", id)
			return nil
		},
	}
}

func newFAQImport(e env, t *serverTarget) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Add or update curated answers from a CSV or Markdown file",
		Long: `Import curated answers from a file, all or nothing:

  CSV       a header row naming the columns question and answer, and optionally
            alternatives (several separated by "|"):
              question,answer,alternatives
              Can I pay with PayPal?,"Yes, and with cards.",is paypal accepted|pay by paypal
  Markdown  each "## " heading is a question, the text under it its answer:
              ## Do you ship to the USA?
              Not yet: we ship within the EU and the UK.

A question already curated (ignoring case, spacing and the closing "?") gets
the file's answer; importing the same file again changes nothing.`,
		Example: `  chatbot faq import faq.csv
  chatbot faq import support-answers.md`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fi, err := os.Stat(args[0])
			if err != nil {
				return fmt.Errorf("read %s: %w", args[0], err)
			}
			if fi.Size() > faq.MaxFileBytes {
				return fmt.Errorf("%s is %d bytes; the limit is %d (split it)", args[0], fi.Size(), faq.MaxFileBytes)
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("read %s: %w", args[0], err)
			}
			pairs, err := faq.ParseFile(args[0], data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			b, err := t.faqs(e)
			if err != nil {
				return err
			}
			defer b.close()
			res, err := b.importPairs(cmd.Context(), pairs)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d added, %d updated, %d unchanged\n", args[0], res.Added, res.Updated, res.Unchanged)
			return nil
		},
	}
}

func newFAQTest(e env, t *serverTarget) *cobra.Command {
	return &cobra.Command{
		Use:     "test QUESTION",
		Short:   "Show which curated answer, if any, would answer a question",
		Example: `  chatbot faq test "is paypal accepted?"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := t.faqs(e)
			if err != nil {
				return err
			}
			defer b.close()
			f, score, ok, err := b.match(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintln(cmd.OutOrStdout(), "no curated answer matches; the knowledge base would answer")
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "curated answer %d (score %.2f): %s\n\n%s\n", f.ID, score, f.Question, f.Answer)
			return nil
		},
	}
}

// faqs opens the data directory, or the API of the server holding it (or
// named by --server).
func (t serverTarget) faqs(e env) (faqBackend, error) {
	if t.server == "" {
		st, err := openStoreForCLI(e, t.dataDir)
		if err == nil {
			s, err := faq.Open(st, 0)
			if err != nil {
				st.Close()
				return nil, err
			}
			return localFAQs{st: st, s: s}, nil
		}
		if !errors.Is(err, store.ErrLocked) {
			return nil, err
		}
	}
	c, err := t.remoteClient(e)
	if err != nil {
		return nil, err
	}
	return remoteFAQs{c}, nil
}

type localFAQs struct {
	st *store.Store
	s  *faq.Service
}

func (l localFAQs) add(_ context.Context, q, a string, alts []string) (store.FAQ, error) {
	return l.s.Create(faq.Input{Question: &q, Answer: &a, Alternatives: &alts})
}
func (l localFAQs) list(context.Context) ([]store.FAQ, error) { return l.s.List() }
func (l localFAQs) remove(_ context.Context, id uint64) error { return l.s.Delete(id) }
func (l localFAQs) importPairs(_ context.Context, pairs []faq.Pair) (store.FAQImport, error) {
	return l.s.Import(pairs)
}
func (l localFAQs) match(_ context.Context, q string) (store.FAQ, float64, bool, error) {
	f, score, ok := l.s.Match(q)
	return f, score, ok, nil
}
func (l localFAQs) close() { l.st.Close() }

type remoteFAQs struct{ c *client.Client }

func (r remoteFAQs) add(ctx context.Context, q, a string, alts []string) (store.FAQ, error) {
	f, err := r.c.CreateFAQ(ctx, client.FAQInput{Question: &q, Answer: &a, Alternatives: &alts})
	return store.FAQ(f), err
}
func (r remoteFAQs) list(ctx context.Context) ([]store.FAQ, error) {
	fs, err := r.c.ListFAQs(ctx)
	out := make([]store.FAQ, len(fs))
	for i, f := range fs {
		out[i] = store.FAQ(f)
	}
	return out, err
}
func (r remoteFAQs) remove(ctx context.Context, id uint64) error { return r.c.DeleteFAQ(ctx, id) }
func (r remoteFAQs) importPairs(ctx context.Context, pairs []faq.Pair) (store.FAQImport, error) {
	in := make([]client.FAQPair, len(pairs))
	for i, p := range pairs {
		in[i] = client.FAQPair(p)
	}
	res, err := r.c.ImportFAQs(ctx, in)
	return store.FAQImport{Added: res.Added, Updated: res.Updated, Unchanged: res.Unchanged}, err
}
func (r remoteFAQs) match(ctx context.Context, q string) (store.FAQ, float64, bool, error) {
	m, err := r.c.MatchFAQ(ctx, q)
	if err != nil || !m.Matched || m.FAQ == nil {
		return store.FAQ{}, 0, false, err
	}
	return store.FAQ(*m.FAQ), m.Score, true, nil
}
func (r remoteFAQs) close() {}
