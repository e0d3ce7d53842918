// Package cmd holds the cobra command tree: flags and environment to typed
// configuration, and printing. The service itself (its parts, routes and
// shutdown order) is internal/server; serve is flags -> server.Config ->
// server.New -> Run.
package cmd

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Execute runs the command line and returns the process exit code.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCommand(os.Getenv)
	if err := root.ExecuteContext(ctx); err != nil {
		root.PrintErrln("Error:", err)
		return 1
	}
	return 0
}

func newRootCommand(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "chatbot",
		Short: "Self-hosted customer-support bot answering from your documents",
		Example: `  chatbot ingest ./docs                  # build the knowledge base
  chatbot serve --data-dir ./data        # HTTP API, webhooks and admin panel on 127.0.0.1:8080
  chatbot webhook add --name Freshchat --provider freshchat --url https://example.com/hook
  chatbot ask "how do I reset my password?"`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// A malformed environment value is an error, as the same flag
		// value would be, never silently replaced by the default.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return checkEnv(cmd.Flags(), e)
		},
	}
	root.AddCommand(
		newServeCommand(e),
		newVersionCommand(),
		newWebhookCommand(e),
		newIngestCommand(e),
		newSourceCommand(e),
		newWidgetCommand(e),
		newFAQCommand(e),
		newConversationsCommand(e),
		newToolCommand(e),
		newDocsCommand(e),
		newAskCommand(e),
		newEvalCommand(e),
		newBenchCommand(e),
		newBackupCommand(e),
		newRestoreCommand(e),
		newDoctorCommand(e),
		newHealthcheckCommand(e),
	)
	return root
}
