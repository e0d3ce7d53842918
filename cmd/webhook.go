package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/client"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"

	"github.com/chatbot/chatbot/internal/server"
)

// configBackend is what the webhook commands need. It is served by the
// local store when no server runs, or by the running server's API while
// `serve` holds the data directory, so operators never stop the bot to add
// an integration.
type configBackend interface {
	Create(ctx context.Context, in webhook.ConfigInput) (webhook.ConfigView, error)
	List(ctx context.Context) ([]webhook.ConfigView, error)
	Find(ctx context.Context, ref string) (webhook.ConfigView, error)
	Delete(ctx context.Context, id uint64) error
	Close() error
}

type localConfigs struct {
	st *store.Store
	cs *webhook.Configs
}

func (l localConfigs) Create(_ context.Context, in webhook.ConfigInput) (webhook.ConfigView, error) {
	return l.cs.Create(in)
}
func (l localConfigs) List(context.Context) ([]webhook.ConfigView, error) { return l.cs.List() }
func (l localConfigs) Find(_ context.Context, ref string) (webhook.ConfigView, error) {
	return l.cs.Find(ref)
}
func (l localConfigs) Delete(_ context.Context, id uint64) error { return l.cs.Delete(id) }
func (l localConfigs) Close() error                              { return l.st.Close() }

type remoteConfigs struct{ c *client.Client }

func (r remoteConfigs) Create(ctx context.Context, in webhook.ConfigInput) (webhook.ConfigView, error) {
	v, err := r.c.CreateConfig(ctx, client.ConfigInput(in))
	return webhook.ConfigView(v), err
}
func (r remoteConfigs) List(ctx context.Context) ([]webhook.ConfigView, error) {
	vs, err := r.c.ListConfigs(ctx)
	return configsFromClient(vs), err
}
func (r remoteConfigs) Find(ctx context.Context, ref string) (webhook.ConfigView, error) {
	v, err := r.c.FindConfig(ctx, ref)
	return webhook.ConfigView(v), err
}
func (r remoteConfigs) Delete(ctx context.Context, id uint64) error { return r.c.DeleteConfig(ctx, id) }
func (r remoteConfigs) Close() error                                { return nil }

// serverTarget says how CLI commands reach a running server.
type serverTarget struct {
	dataDir string
	server  string // explicit --server URL; empty means "find it"
}

func bindServerTarget(cmd *cobra.Command, e env, t *serverTarget) {
	bindDataDir(cmd.PersistentFlags(), e, &t.dataDir)
	cmd.PersistentFlags().StringVar(&t.server, "server", e.or("CHATBOT_SERVER", ""),
		"URL of a running chatbot server to manage through its API (env CHATBOT_SERVER); default: the local data directory, or the server holding it")
}

// openStoreForCLI opens the data directory's store for a short CLI command.
// It returns store.ErrLocked (wrapped) when a server holds it.
func openStoreForCLI(e env, dataDir string) (*store.Store, error) {
	if err := store.PrepareDir(dataDir); err != nil {
		return nil, err
	}
	envKey, err := e.lookup("CHATBOT_SECRET_KEY")
	if err != nil {
		return nil, err
	}
	key, err := secret.LoadKey(envKey, dataDir)
	if err != nil {
		return nil, err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return nil, err
	}
	return store.Open(dataDir, store.Options{Sealer: box, LockTimeout: 300 * time.Millisecond})
}

// remoteClient returns a client for the running server: --server, or the
// address the server recorded in the data directory.
func (t serverTarget) remoteClient(e env) (*client.Client, error) {
	token, err := e.lookup("CHATBOT_ADMIN_TOKEN")
	if err != nil {
		return nil, err
	}
	base := t.server
	if base == "" {
		b, err := os.ReadFile(filepath.Join(t.dataDir, server.RecordFile))
		if err != nil {
			return nil, fmt.Errorf("data directory %q is in use by another process, and no running server recorded its address there; stop that process or pass --server", t.dataDir)
		}
		var rec server.Record
		if err := json.Unmarshal(b, &rec); err != nil || rec.Addr == "" {
			return nil, fmt.Errorf("server record in %q is damaged; pass --server", t.dataDir)
		}
		scheme := "http"
		if rec.TLS {
			scheme = "https"
		}
		base = scheme + "://" + rec.Addr
	}
	if token == "" {
		return nil, fmt.Errorf("a server is running (%s): set CHATBOT_ADMIN_TOKEN to the admin token so this command can use its API", base)
	}
	return client.New(base, token), nil
}

func (t serverTarget) configs(e env) (configBackend, error) {
	if t.server != "" {
		c, err := t.remoteClient(e)
		if err != nil {
			return nil, err
		}
		return remoteConfigs{c: c}, nil
	}
	st, err := openStoreForCLI(e, t.dataDir)
	if errors.Is(err, store.ErrLocked) {
		c, cerr := t.remoteClient(e)
		if cerr != nil {
			return nil, cerr
		}
		return remoteConfigs{c: c}, nil
	}
	if err != nil {
		return nil, err
	}
	return localConfigs{st: st, cs: webhook.NewConfigs(st)}, nil
}

func newWebhookCommand(e env) *cobra.Command {
	var t serverTarget
	c := &cobra.Command{
		Use:   "webhook",
		Short: "Manage platform integrations (webhook configurations)",
		Long: `Manage the webhook configurations through which support platforms send
messages and receive answers. While 'chatbot serve' runs on the same data
directory, these commands use its API (set CHATBOT_ADMIN_TOKEN).`,
		Example: `  chatbot webhook add --name Freshchat --provider freshchat --url https://example.com/hook --auth-token T
  chatbot webhook list
  chatbot webhook show Freshchat
  chatbot webhook remove Freshchat
  chatbot webhook test Freshchat
  chatbot webhook add --name Chatwoot --provider chatwoot --adapter native --api-url https://app.chatwoot.com \
      --api-token-file bot-token --platform-secret-file webhook-secret --account 7 --public-url https://bot.example.com`,
	}
	bindServerTarget(c, e, &t)
	c.AddCommand(newWebhookAddCommand(e, &t), newWebhookListCommand(e, &t),
		newWebhookShowCommand(e, &t), newWebhookRemoveCommand(e, &t), newWebhookTestCommand(e, &t))
	return c
}

func newWebhookAddCommand(e env, t *serverTarget) *cobra.Command {
	var (
		name, provider, url, authToken, mode string
		headers                              []string
		retries                              int
		timeout                              time.Duration
		inactive                             bool
		native                               nativeFlags
	)
	c := &cobra.Command{
		Use:   "add",
		Short: "Add an integration; prints its incoming token once",
		Example: `  chatbot webhook add --name "Freshchat" --provider freshchat \
      --url https://example.com/hook --auth-token T --retries 3 --timeout 30s \
      --header X-API-Key=abc`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := webhook.ConfigInput{Name: &name, Provider: &provider, OutgoingURL: &url}
			if cmd.Flags().Changed("auth-token") {
				in.AuthToken = &authToken
			}
			if cmd.Flags().Changed("retries") {
				in.RetryAttempts = &retries
			}
			if cmd.Flags().Changed("timeout") {
				secs := int(timeout / time.Second)
				if timeout%time.Second != 0 || secs < 1 || secs > 300 {
					return fmt.Errorf("--timeout must be whole seconds between 1s and 300s, not %s", timeout)
				}
				in.TimeoutSeconds = &secs
			}
			if cmd.Flags().Changed("mode") {
				in.ResponseMode = &mode
			}
			if inactive {
				f := false
				in.IsActive = &f
			}
			if err := native.apply(cmd, &in); err != nil {
				return err
			}
			if len(headers) > 0 {
				h := map[string]string{}
				for _, kv := range headers {
					k, v, ok := strings.Cut(kv, "=")
					if !ok || strings.TrimSpace(k) == "" {
						return fmt.Errorf("--header must be NAME=VALUE, not %q", kv)
					}
					h[strings.TrimSpace(k)] = v
				}
				in.CustomHeaders = &h
			}
			b, err := t.configs(e)
			if err != nil {
				return err
			}
			defer b.Close()
			v, err := b.Create(cmd.Context(), in)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if v.Adapter == store.AdapterNative {
				printNativeAdded(out, v, native.publicURL)
				return nil
			}
			fmt.Fprintf(out, "Added webhook config %d %q (provider %s).\n\n", v.ID, v.Name, v.Provider)
			fmt.Fprintf(out, "Incoming token (shown once; the platform sends it as Authorization: Bearer <token>):\n    %s\n", v.IncomingToken)
			fmt.Fprintf(out, "Signing secret (shown once; verifies our outgoing webhook-signature header):\n    %s\n", v.SigningSecret)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&name, "name", "", "unique name of the integration (required)")
	f.StringVar(&provider, "provider", "", "platform slug, e.g. freshchat, zendesk, intercom, chatwoot (required)")
	f.StringVar(&url, "url", "", "outgoing webhook URL answers are POSTed to (empty: answers only in the HTTP response)")
	f.StringVar(&authToken, "auth-token", "", "bearer token sent with outgoing deliveries")
	f.StringArrayVar(&headers, "header", nil, "custom header NAME=VALUE sent with outgoing deliveries (repeatable)")
	f.IntVar(&retries, "retries", webhook.DefaultRetryAttempts, "delivery retry attempts (0-10)")
	f.DurationVar(&timeout, "timeout", webhook.DefaultTimeoutSeconds*time.Second, "delivery timeout (1s-300s)")
	f.StringVar(&mode, "mode", "sync", "sync (answer in the HTTP response) or async (202 at once, answer via the outgoing webhook)")
	f.BoolVar(&inactive, "inactive", false, "create the integration disabled")
	native.bind(f)
	_ = c.MarkFlagRequired("name")
	_ = c.MarkFlagRequired("provider")
	return c
}

func newWebhookListCommand(e env, t *serverTarget) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List integrations",
		Example: "  chatbot webhook list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := t.configs(e)
			if err != nil {
				return err
			}
			defer b.Close()
			list, err := b.List(cmd.Context())
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No webhook configs yet. Add one with: chatbot webhook add --name NAME --provider SLUG --url URL")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPROVIDER\tACTIVE\tMODE\tOUTGOING URL")
			for _, v := range list {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%t\t%s\t%s\n", v.ID, v.Name, v.Provider, v.IsActive, v.ResponseMode, v.OutgoingURL)
			}
			return tw.Flush()
		},
	}
}

func newWebhookShowCommand(e env, t *serverTarget) *cobra.Command {
	return &cobra.Command{
		Use:     "show NAME|ID",
		Short:   "Show one integration (secrets masked)",
		Example: "  chatbot webhook show Freshchat",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := t.configs(e)
			if err != nil {
				return err
			}
			defer b.Close()
			v, err := b.Find(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			printConfig(cmd.OutOrStdout(), v)
			return nil
		},
	}
}

func printConfig(w io.Writer, v webhook.ConfigView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%d\nname\t%s\nprovider\t%s\noutgoing url\t%s\nauth token\t%s\n", v.ID, v.Name, v.Provider, v.OutgoingURL, v.AuthToken)
	for k, val := range v.CustomHeaders {
		fmt.Fprintf(tw, "header\t%s: %s\n", k, val)
	}
	fmt.Fprintf(tw, "timeout\t%ds\nretries\t%d\nactive\t%t\nmode\t%s\nincoming token\t%s\nsigning secret\t%s\ncreated\t%s\nupdated\t%s\n",
		v.TimeoutSeconds, v.RetryAttempts, v.IsActive, v.ResponseMode, v.IncomingToken, v.SigningSecret,
		v.CreatedAt.Format(time.RFC3339), v.UpdatedAt.Format(time.RFC3339))
	tw.Flush()
	printNativeConfig(w, v)
}

func newWebhookRemoveCommand(e env, t *serverTarget) *cobra.Command {
	return &cobra.Command{
		Use:     "remove NAME|ID",
		Aliases: []string{"rm", "delete"},
		Short:   "Remove an integration",
		Example: "  chatbot webhook remove Freshchat",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := t.configs(e)
			if err != nil {
				return err
			}
			defer b.Close()
			v, err := b.Find(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := b.Delete(cmd.Context(), v.ID); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed webhook config %d %q.\n", v.ID, v.Name)
			return nil
		},
	}
}
