package cmd

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// newWebhookTestCommand is `chatbot webhook test NAME`: it sends a test
// payload to the config's outgoing URL and prints the platform's status and
// the time it took. While `serve` holds the data directory (or with
// --server) it goes through the server's API; otherwise it reads the config
// from the store and sends the payload itself.
func newWebhookTestCommand(e env, t *serverTarget) *cobra.Command {
	var allow string
	c := &cobra.Command{
		Use:   "test NAME",
		Short: "Send a test payload to a webhook config's outgoing URL",
		Long: `Send a signed test payload (response_type "test") to the outgoing URL of the
webhook config named NAME (or with id NAME) and print the HTTP status and the
time it took. Nothing is stored and nothing is retried. It fails when the
platform does not answer 2xx.

Run locally, the address policy of deliveries applies: a receiver on this
host or a private network needs --allow-outgoing, as serve does. Through a
running server, the server's own --allow-outgoing applies.`,
		Example: `  chatbot webhook test Freshchat
  chatbot webhook test 3 --allow-outgoing 127.0.0.0/8
  CHATBOT_ADMIN_TOKEN=$(cat token) chatbot webhook test Freshchat   # while serve runs`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, name, err := runWebhookTest(cmd, e, t, allow, args[0])
			if err != nil {
				return err
			}
			return printTestResult(cmd.OutOrStdout(), name, res)
		},
	}
	c.Flags().StringVar(&allow, "allow-outgoing", e.or("CHATBOT_ALLOW_OUTGOING", ""), "hosts or CIDRs the test may reach although private or loopback (env CHATBOT_ALLOW_OUTGOING)")
	return c
}

func runWebhookTest(cmd *cobra.Command, e env, t *serverTarget, allow, ref string) (webhook.TestResult, string, error) {
	ctx := cmd.Context()
	policy, err := webhook.ParseAllowList(allow)
	if err != nil {
		return webhook.TestResult{}, "", err
	}
	var st *store.Store
	if t.server == "" {
		st, err = openStoreForCLI(e, t.dataDir)
	}
	if t.server != "" || errors.Is(err, store.ErrLocked) {
		cl, err := t.remoteClient(e)
		if err != nil {
			return webhook.TestResult{}, "", err
		}
		v, err := cl.FindConfig(ctx, ref)
		if err != nil {
			return webhook.TestResult{}, "", err
		}
		res, err := cl.TestConfig(ctx, v.ID)
		return webhook.TestResult(res), v.Name, err
	}
	if err != nil {
		return webhook.TestResult{}, "", err
	}
	defer st.Close()
	v, err := webhook.NewConfigs(st).Find(ref)
	if err != nil {
		return webhook.TestResult{}, "", err
	}
	sender := webhook.NewSender(policy, webhook.SenderOptions{UserAgent: "chatbot/" + Version()})
	defer sender.Close()
	res, err := webhook.NewDeliveries(st, sender, nil).Test(ctx, v.ID)
	return res, v.Name, err
}

func printTestResult(out io.Writer, name string, res webhook.TestResult) error {
	if res.Delivered {
		fmt.Fprintf(out, "%s: HTTP %d in %.0f ms (webhook-id %s)\n", name, res.StatusCode, res.DurationMS, res.WebhookID)
		return nil
	}
	status := "no HTTP answer"
	if res.StatusCode != 0 {
		status = fmt.Sprintf("HTTP %d", res.StatusCode)
	}
	fmt.Fprintf(out, "%s: %s in %.0f ms%s\n", name, status, res.DurationMS, testDetail(status, res.Error))
	return fmt.Errorf("test delivery to %s failed", name)
}

// testDetail is what the delivery error adds to the status line. The
// error usually starts with the same "HTTP 503" the line already shows
// (it was printed twice); that prefix is dropped.
func testDetail(status, errText string) string {
	rest, had := strings.CutPrefix(errText, status)
	rest = strings.TrimSpace(rest)
	switch {
	case rest == "":
		return ""
	case !had:
		return ": " + rest
	case strings.HasPrefix(rest, ":"):
		return ": " + strings.TrimSpace(rest[1:])
	}
	return ", " + rest // "HTTP 301 in 3 ms, redirect not followed; ..."
}
