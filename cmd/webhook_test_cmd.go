package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// newWebhookTestCommand is `chatbot webhook test NAME`: it sends a test
// payload to the config's outgoing URL and prints the platform's status and
// the time it took. While `serve` holds the data directory it goes through
// the server's API (with CHATBOT_ADMIN_TOKEN); otherwise it reads the config
// from the store and sends the payload itself.
func newWebhookTestCommand(e env) *cobra.Command {
	var dataDir, allow string
	c := &cobra.Command{
		Use:   "test NAME",
		Short: "Send a test payload to a webhook config's outgoing URL",
		Long: `Send a signed test payload (response_type "test") to the outgoing URL of the
webhook config named NAME (or with id NAME) and print the HTTP status and the
time it took. Nothing is stored and nothing is retried. It fails when the
platform does not answer 2xx.`,
		Example: `  chatbot webhook test Freshchat
  CHATBOT_ADMIN_TOKEN=$(cat token) chatbot webhook test 3   # while serve runs`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, name, err := runWebhookTest(cmd, e, dataDir, allow, args[0])
			if err != nil {
				return err
			}
			return printTestResult(cmd.OutOrStdout(), name, res)
		},
	}
	bindDataDir(c.Flags(), e, &dataDir)
	c.Flags().StringVar(&allow, "allow-outgoing", e.or("CHATBOT_ALLOW_OUTGOING", ""), "hosts or CIDRs the test may reach although private or loopback (env CHATBOT_ALLOW_OUTGOING)")
	return c
}

func runWebhookTest(cmd *cobra.Command, e env, dataDir, allow, ref string) (webhook.TestResult, string, error) {
	ctx := cmd.Context()
	keyEnv, err := e.lookup("CHATBOT_SECRET_KEY")
	if err != nil {
		return webhook.TestResult{}, "", err
	}
	if _, err := os.Stat(filepath.Join(dataDir, store.FileName)); err != nil {
		return webhook.TestResult{}, "", fmt.Errorf("no database in %q: create a webhook config first (or pass --data-dir)", dataDir)
	}
	key, err := secret.LoadKey(keyEnv, dataDir)
	if err != nil {
		return webhook.TestResult{}, "", err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return webhook.TestResult{}, "", err
	}
	st, err := store.Open(dataDir, store.Options{ReadOnly: true, LockTimeout: 300 * time.Millisecond, Sealer: box})
	if errors.Is(err, store.ErrLocked) {
		return testThroughServer(cmd, e, dataDir, ref)
	}
	if err != nil {
		return webhook.TestResult{}, "", err
	}
	defer st.Close()
	v, err := webhook.NewConfigs(st).Find(ref)
	if err != nil {
		return webhook.TestResult{}, "", err
	}
	policy, err := webhook.ParseAllowList(allow)
	if err != nil {
		return webhook.TestResult{}, "", err
	}
	sender := webhook.NewSender(policy, webhook.SenderOptions{UserAgent: "chatbot/" + Version()})
	defer sender.Close()
	res, err := webhook.NewDeliveries(st, sender, nil).Test(ctx, v.ID)
	return res, v.Name, err
}

// testThroughServer asks the running server, found through its record in
// the data directory, to send the test.
func testThroughServer(cmd *cobra.Command, e env, dataDir, ref string) (webhook.TestResult, string, error) {
	token, err := e.lookup("CHATBOT_ADMIN_TOKEN")
	if err != nil {
		return webhook.TestResult{}, "", err
	}
	data, err := os.ReadFile(filepath.Join(dataDir, serverRecordFile))
	var rec serverRecord
	if err != nil || json.Unmarshal(data, &rec) != nil || rec.Addr == "" {
		return webhook.TestResult{}, "", fmt.Errorf("the data directory %q is in use by another process and no running server is recorded there", dataDir)
	}
	if token == "" {
		return webhook.TestResult{}, "", fmt.Errorf("chatbot serve is running (pid %d); set CHATBOT_ADMIN_TOKEN so this command can use its API", rec.PID)
	}
	scheme := "http"
	if rec.TLS {
		scheme = "https"
	}
	base := scheme + "://" + rec.Addr
	var list struct {
		Configs []webhook.ConfigView `json:"configs"`
	}
	if err := adminCall(cmd.Context(), http.MethodGet, base+"/api/webhook/config", token, &list); err != nil {
		return webhook.TestResult{}, "", err
	}
	for _, v := range list.Configs {
		if strings.EqualFold(v.Name, ref) || strconv.FormatUint(v.ID, 10) == ref {
			var res webhook.TestResult
			err := adminCall(cmd.Context(), http.MethodPost, base+"/api/webhook/config/"+strconv.FormatUint(v.ID, 10)+"/test", token, &res)
			return res, v.Name, err
		}
	}
	return webhook.TestResult{}, "", fmt.Errorf("webhook config %q not found", ref)
}

// adminCall makes one management API call and decodes its JSON answer.
// (The shared API client can replace it once it lands.)
func adminCall(ctx context.Context, method, url, token string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 6*time.Minute) // a test may wait for a slow platform
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("read answer of %s %s: %w", method, url, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = http.StatusText(resp.StatusCode)
		}
		return fmt.Errorf("server answered %d: %s", resp.StatusCode, e.Error)
	}
	return json.Unmarshal(data, out)
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
	fmt.Fprintf(out, "%s: %s in %.0f ms: %s\n", name, status, res.DurationMS, res.Error)
	return fmt.Errorf("test delivery to %s failed", name)
}
