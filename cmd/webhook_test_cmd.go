package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/client"
	native "github.com/chatbot/chatbot/platform"
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
	nt := nativeTestOptions{poll: 250 * time.Millisecond}
	c := &cobra.Command{
		Use:   "test NAME",
		Short: "Send a test payload to a webhook config's outgoing URL",
		Long: `Send a signed test payload (response_type "test") to the outgoing URL of the
webhook config named NAME (or with id NAME) and print the HTTP status and the
time it took. Nothing is stored and nothing is retried. It fails when the
platform does not answer 2xx.

Run locally, the address policy of deliveries applies: a receiver on this
host or a private network needs --allow-outgoing, as serve does. Through a
running server, the server's own --allow-outgoing applies.

A native integration (Chatwoot) has no outgoing URL: the test asks the
running server for a sample event of the platform signed with the
integration's platform secret, posts it to the server's own events
endpoint as the platform would, and follows it through: stored, answered,
delivered through the platform's reply API. It prints each step. Pass
--conversation with the id of a real conversation to see the answer on the
platform itself. It needs a running server (the one that would answer).`,
		Example: `  chatbot webhook test Freshchat
  chatbot webhook test 3 --allow-outgoing 127.0.0.0/8
  CHATBOT_ADMIN_TOKEN=$(cat token) chatbot webhook test Freshchat   # while serve runs
  CHATBOT_ADMIN_TOKEN=$(cat token) chatbot webhook test Chatwoot --conversation 58`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, name, err := runWebhookTest(cmd, e, t, allow, args[0], nt)
			if err != nil || res == nil {
				return err // a native test printed its own steps
			}
			return printTestResult(cmd.OutOrStdout(), name, *res)
		},
	}
	c.Flags().StringVar(&allow, "allow-outgoing", e.or("CHATBOT_ALLOW_OUTGOING", ""), "hosts or CIDRs the test may reach although private or loopback (env CHATBOT_ALLOW_OUTGOING)")
	c.Flags().StringVar(&nt.conversation, "conversation", "", "native integrations: the platform's conversation id the sample message is posted in (default chatbot-webhook-test)")
	c.Flags().StringVar(&nt.text, "text", "", "native integrations: the sample message's text")
	c.Flags().DurationVar(&nt.wait, "wait", time.Minute, "native integrations: how long to follow the answer and its delivery")
	return c
}

// runWebhookTest tests the config ref. A nil result with no error is a
// native integration's test, which printed its own steps.
func runWebhookTest(cmd *cobra.Command, e env, t *serverTarget, allow, ref string, nt nativeTestOptions) (*webhook.TestResult, string, error) {
	ctx := cmd.Context()
	policy, err := webhook.ParseAllowList(allow)
	if err != nil {
		return nil, "", err
	}
	var st *store.Store
	if t.server == "" {
		st, err = openStoreForCLI(e, t.dataDir)
	}
	if t.server != "" || errors.Is(err, store.ErrLocked) {
		cl, err := t.remoteClient(e)
		if err != nil {
			return nil, "", err
		}
		v, err := cl.FindConfig(ctx, ref)
		if err != nil {
			return nil, "", err
		}
		if v.Adapter == "native" {
			return nil, v.Name, runNativeTest(ctx, cmd.OutOrStdout(), cl, v, nt)
		}
		res, err := cl.TestConfig(ctx, v.ID)
		tr := webhook.TestResult(res)
		return &tr, v.Name, err
	}
	if err != nil {
		return nil, "", err
	}
	defer st.Close()
	v, err := webhook.NewConfigs(st).Find(ref)
	if err != nil {
		return nil, "", err
	}
	if v.Adapter == "native" {
		fmt.Fprintf(cmd.OutOrStdout(), "%s: native %s integration: its test posts a signed sample event to the running server's events endpoint (%s) "+
			"and follows the answer out through %s's API, but no server is running on data directory %s\n", v.Name, v.Provider, v.EventsPath, v.Provider, t.dataDir)
		return nil, v.Name, fmt.Errorf("no server is running: start `chatbot serve` on this data directory, or pass --server URL, then test %s again", v.Name)
	}
	sender := webhook.NewSender(policy, webhook.SenderOptions{UserAgent: "chatbot/" + Version()})
	defer sender.Close()
	res, err := webhook.NewDeliveries(st, sender, nil).Test(ctx, v.ID)
	return &res, v.Name, err
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

// nativeTestOptions are the flags of a native integration's test.
type nativeTestOptions struct {
	conversation, text string
	wait, poll         time.Duration
}

// nativeEventAnswer is the events endpoint's answer to one event.
type nativeEventAnswer struct {
	MessageID uint64 `json:"message_id"`
	Duplicate bool   `json:"duplicate"`
	Ignored   string `json:"ignored"`
	Error     string `json:"error"`
}

// runNativeTest sends a signed sample event of v's platform through the
// whole path of the running server and prints each step: the sample, the
// events endpoint's answer, the answer produced, its delivery through the
// platform's reply API.
func runNativeTest(ctx context.Context, out io.Writer, cl *client.Client, v client.ConfigView, o nativeTestOptions) error {
	var sample native.SampleResponse
	if err := cl.Do(ctx, http.MethodPost, fmt.Sprintf("/api/platforms/%d/sample", v.ID),
		map[string]string{"conversation_id": o.conversation, "text": o.text}, &sample); err != nil {
		return fmt.Errorf("ask the server for a sample %s event: %w", v.Provider, err)
	}
	signed := "signed with the platform secret"
	if !sample.Signed {
		signed = "unsigned (no platform_secret): the server takes it only with accept_unsigned"
	}
	fmt.Fprintf(out, "1. sample %s event: a user's message in conversation %s (message id %s), %s\n",
		sample.Provider, sample.ConversationID, sample.MessageID, signed)
	ev, status, err := postSampleEvent(ctx, cl.Base()+sample.EventsPath, sample)
	if err != nil {
		fmt.Fprintf(out, "2. POST %s: %v\n", sample.EventsPath, err)
		return fmt.Errorf("the events endpoint did not take the sample event of %s", v.Name)
	}
	switch {
	case status != http.StatusOK:
		fmt.Fprintf(out, "2. POST %s: HTTP %d: %s\n", sample.EventsPath, status, ev.Error)
		return fmt.Errorf("the events endpoint refused the sample event of %s", v.Name)
	case ev.Ignored != "":
		fmt.Fprintf(out, "2. POST %s: HTTP 200, ignored: %s\n", sample.EventsPath, ev.Ignored)
		return fmt.Errorf("the sample event of %s was ignored", v.Name)
	}
	fmt.Fprintf(out, "2. POST %s: HTTP 200, stored as message %d\n", sample.EventsPath, ev.MessageID)
	return followAnswer(ctx, out, cl, sample, ev.MessageID, o)
}

func postSampleEvent(ctx context.Context, url string, s native.SampleResponse) (nativeEventAnswer, int, error) {
	var ev nativeEventAnswer
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(s.Body))
	if err != nil {
		return ev, 0, fmt.Errorf("build the request: %w", err)
	}
	for k, v := range s.Headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return ev, 0, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ev); err != nil {
		return ev, resp.StatusCode, fmt.Errorf("HTTP %d with an unreadable answer: %w", resp.StatusCode, err)
	}
	return ev, resp.StatusCode, nil
}

// followAnswer polls the conversation's messages until the sample's
// answer is delivered, fails, or o.wait passes.
func followAnswer(ctx context.Context, out io.Writer, cl *client.Client, s native.SampleResponse, id uint64, o nativeTestOptions) error {
	path := "/api/webhook/messages?per_page=100&platform=" + url.QueryEscape(s.Provider) + "&conversation_id=" + url.QueryEscape(s.ConversationID)
	deadline := time.Now().Add(o.wait)
	answered := false
	for {
		var list struct {
			Messages []store.Message `json:"messages"`
		}
		if err := cl.Do(ctx, http.MethodGet, path, nil, &list); err != nil {
			return fmt.Errorf("read the conversation's messages: %w", err)
		}
		byID := map[uint64]store.Message{}
		for _, m := range list.Messages {
			byID[m.ID] = m
		}
		in := byID[id]
		switch {
		case in.ResponseType != "" && in.ResponseID == 0:
			fmt.Fprintf(out, "3. handled without a reply: %s\n", in.ResponseType)
			if in.ResponseType == native.TypePaused {
				return fmt.Errorf("conversation %s is paused (a human owns it): resume it, or test with another --conversation", s.ConversationID)
			}
			return nil
		case in.ResponseID != 0:
			reply := byID[in.ResponseID]
			if !answered {
				fmt.Fprintf(out, "3. answer (%s): %q\n", reply.ResponseType, reply.Text)
				answered = true
			}
			switch reply.Status {
			case store.StatusSent:
				fmt.Fprintf(out, "4. delivered through the %s API: HTTP %d after %d attempt(s)\n", s.Provider, reply.LastHTTPStatus, reply.Attempts)
				return nil
			case store.StatusFailed:
				fmt.Fprintf(out, "4. delivery through the %s API failed after %d attempt(s): %s\n", s.Provider, reply.Attempts, reply.LastError)
				return fmt.Errorf("the answer was not delivered; see the message's delivery in the admin panel")
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(out, "4. still pending after %s: %d attempt(s), last error: %s\n", o.wait, reply.Attempts, reply.LastError)
				return fmt.Errorf("the answer is not delivered yet; the delivery queue keeps retrying it")
			}
		case time.Now().After(deadline):
			fmt.Fprintf(out, "3. no answer after %s\n", o.wait)
			return fmt.Errorf("message %d is not answered yet; check the server's log", id)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.poll):
		}
	}
}
