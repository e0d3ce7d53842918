package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/client"
	"github.com/chatbot/chatbot/insights"
	"github.com/chatbot/chatbot/store"
)

func newConversationsCommand(e env) *cobra.Command {
	var t serverTarget
	c := &cobra.Command{
		Use:   "conversations",
		Short: "Manage stored conversations (erase one user's data)",
		Long: `While 'chatbot serve' runs on the same data directory, these commands use
its API (set CHATBOT_ADMIN_TOKEN); otherwise they open the data directory.`,
		Example: "  chatbot conversations purge --user 12345",
	}
	bindServerTarget(c, e, &t)
	c.AddCommand(newConversationsPurge(e, &t))
	return c
}

func newConversationsPurge(e env, t *serverTarget) *cobra.Command {
	var user string
	c := &cobra.Command{
		Use:   "purge --user ID",
		Short: "Delete everything stored about one user (a right-to-erasure request)",
		Long: `Deletes every conversation in which the user (the platform's user id, as
the webhook sent it; a widget visitor is visitor_<conversation id>) wrote or
was handed to an agent, whole: messages, answers and agent replies, the
conversation memory, live-chat sessions, queued deliveries, dedupe keys,
ratings, outcome records and knowledge-gap questions. The anonymous daily
counts of the insights stay. It prints what it removed.`,
		Example: "  chatbot conversations purge --user 12345",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := insights.CheckUserID(user); err != nil {
				return fmt.Errorf("--user: %w", err)
			}
			rep, err := t.purge(cmd.Context(), e, user)
			if err != nil {
				return err
			}
			printPurge(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	c.Flags().StringVar(&user, "user", "", "the platform's id of the user to erase (required)")
	return c
}

// purge erases the user in the data directory, or through the API of the
// server holding it (or named by --server).
func (t serverTarget) purge(ctx context.Context, e env, user string) (client.PurgeReport, error) {
	if t.server == "" {
		st, err := openStoreForCLI(e, t.dataDir)
		if err == nil {
			defer st.Close()
			rep, err := st.PurgeUser(user)
			return client.PurgeReport(rep), err
		}
		if !errors.Is(err, store.ErrLocked) {
			return client.PurgeReport{}, err
		}
	}
	c, err := t.remoteClient(e)
	if err != nil {
		return client.PurgeReport{}, err
	}
	return c.PurgeUser(ctx, user)
}

func printPurge(w io.Writer, r client.PurgeReport) {
	fmt.Fprintf(w, "purged user %q: %d conversations, %d messages, %d memories, %d ratings, %d live-chat sessions, "+
		"%d deliveries, %d dedupe keys, %d outcome records, %d gap questions\n",
		r.UserID, r.Conversations, r.Messages, r.Memories, r.Feedback, r.LiveChatSessions, r.Deliveries, r.DedupeKeys, r.Outcomes, r.GapQuestions)
}
