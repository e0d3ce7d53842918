package cmd

import (
	"github.com/spf13/cobra"
)

func newServeCommand(e env) *cobra.Command {
	var cfg config
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API, webhooks and admin panel",
		Long: `Run the service: the webhook API for support platforms, the management API
and the admin panel. It stops on SIGINT or SIGTERM after finishing in-flight work.

On first start without CHATBOT_ADMIN_TOKEN it generates an admin token and
prints it once.`,
		Example: `  chatbot serve
  chatbot serve --addr :8080 --data-dir /var/lib/chatbot
  CHATBOT_ADMIN_TOKEN=$(cat token) chatbot serve --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.finish(e); err != nil {
				return err
			}
			log := newLogger(cmd.ErrOrStderr(), cfg.LogLevel, cfg.LogFormat)
			a, err := newApp(cfg, log, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			return a.Run(cmd.Context())
		},
	}
	bindServe(c.Flags(), e, &cfg)
	return c
}
