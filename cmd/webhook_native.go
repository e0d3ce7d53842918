package cmd

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// nativeFlags are `chatbot webhook add`'s flags of a native adapter.
type nativeFlags struct {
	adapter, apiURL, apiToken, apiTokenFile, secret, secretFile string
	account, botID, handoff, handoffTarget, publicURL           string
	acceptUnsigned                                              bool
}

func (n *nativeFlags) bind(f *pflag.FlagSet) {
	f.StringVar(&n.adapter, "adapter", "generic", "generic (our JSON both ways) or native (the platform's own events and reply API; provider chatwoot, zendesk, intercom or freshchat)")
	f.StringVar(&n.apiURL, "api-url", "", "native: the platform's API base, e.g. https://app.chatwoot.com")
	f.StringVar(&n.apiTokenFile, "api-token-file", "", "native: file holding the platform API token (Chatwoot: the agent bot's access token)")
	f.StringVar(&n.apiToken, "api-token", "", "native: the platform API token (prefer --api-token-file: flags show in ps)")
	f.StringVar(&n.secretFile, "platform-secret-file", "", "native: file holding the secret the platform signs its events with (Chatwoot: the webhook's secret)")
	f.StringVar(&n.secret, "platform-secret", "", "native: the platform's signing secret (prefer --platform-secret-file)")
	f.StringVar(&n.account, "account", "", "native: the platform account id (Chatwoot: the number in /app/accounts/{id}/)")
	f.StringVar(&n.botID, "bot-id", "", "native: the bot's identity on the platform, e.g. agent_bot:3 (default: any agent bot is ours)")
	f.StringVar(&n.handoff, "handoff", "", "native: native (the platform's agents take over; default) or console (our live-chat console)")
	f.StringVar(&n.handoffTarget, "handoff-target", "", "native: the team to hand over to (Chatwoot team id)")
	f.BoolVar(&n.acceptUnsigned, "accept-unsigned", false, "native: accept events without a signature (platform versions that do not sign; logged)")
	f.StringVar(&n.publicURL, "public-url", "", "native: the address the platform reaches this bot at, to print the full URL to paste, e.g. https://bot.example.com")
}

// apply copies the flags that were given onto in.
func (n *nativeFlags) apply(cmd *cobra.Command, in *webhook.ConfigInput) error {
	changed := cmd.Flags().Changed
	if !changed("adapter") {
		return nil
	}
	in.Adapter = &n.adapter
	token, err := secretFlag(n.apiToken, n.apiTokenFile, "api-token")
	if err != nil {
		return err
	}
	secret, err := secretFlag(n.secret, n.secretFile, "platform-secret")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		flag string
		v    *string
		dst  **string
	}{{"api-url", &n.apiURL, &in.APIURL}, {"account", &n.account, &in.Account}, {"bot-id", &n.botID, &in.BotID},
		{"handoff", &n.handoff, &in.Handoff}, {"handoff-target", &n.handoffTarget, &in.HandoffTarget}} {
		if changed(f.flag) {
			*f.dst = f.v
		}
	}
	if token != "" {
		in.APIToken = &token
	}
	if secret != "" {
		in.PlatformSecret = &secret
	}
	if changed("accept-unsigned") {
		in.AcceptUnsigned = &n.acceptUnsigned
	}
	return nil
}

// secretFlag is a secret from --NAME or --NAME-file (not both).
func secretFlag(value, file, name string) (string, error) {
	if file == "" {
		return value, nil
	}
	if value != "" {
		return "", fmt.Errorf("give --%s or --%s-file, not both", name, name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--%s-file: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// printNativeAdded tells the operator what to paste into the platform.
func printNativeAdded(w io.Writer, v webhook.ConfigView, publicURL string) {
	base := strings.TrimRight(publicURL, "/")
	if base == "" {
		base = "https://YOUR-BOT-ADDRESS"
	}
	fmt.Fprintf(w, "Added webhook config %d %q (provider %s, native adapter).\n\n", v.ID, v.Name, v.Provider)
	fmt.Fprintf(w, "Paste this URL into %s as the webhook URL (%s):\n    %s%s\n\n", v.Provider, wherePaste[v.Provider], base, v.EventsPath)
	fmt.Fprintf(w, "Answers go out through %s with the API token; a hand-off is %s.\n", v.APIURL, handoffText(v.Handoff))
	if v.AcceptUnsigned {
		fmt.Fprintln(w, "WARNING: unsigned events are accepted: anyone who knows the URL can post as the platform. Set a platform secret when your version signs.")
	}
}

// wherePaste says where each platform takes the URL.
var wherePaste = map[string]string{
	"chatwoot":  "Settings > Bots > the agent bot's webhook URL, or Settings > Integrations > Webhooks with message_created and conversation events",
	"zendesk":   "Admin Center > Apps and integrations > Conversations API > a v2 webhook with conversation:message and switchboard events",
	"intercom":  "Developer Hub > your app > Webhooks, with the conversation.user.* and conversation.admin.* topics",
	"freshchat": "Admin > Webhooks; its RSA public key is the platform secret",
}

func handoffText(mode string) string {
	if mode == store.HandoffConsole {
		return "taken in chatbot's live-chat console"
	}
	return "handed to the platform's agents (the bot stays quiet until the conversation is resolved or handed back)"
}

// printNativeConfig adds a native integration's settings to `webhook show`.
func printNativeConfig(w io.Writer, v webhook.ConfigView) {
	if v.Adapter != store.AdapterNative {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "adapter\t%s\nevents path\t%s\napi url\t%s\napi token\t%s\nevent secret\t%s\naccount\t%s\nbot id\t%s\nhandoff\t%s\nhandoff target\t%s\nunsigned ok\t%t\n",
		v.Adapter, v.EventsPath, v.APIURL, v.APIToken, v.PlatformSecret, v.Account, v.BotID, v.Handoff, v.HandoffTarget, v.AcceptUnsigned)
	tw.Flush()
}
