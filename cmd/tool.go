package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/client"
	"github.com/chatbot/chatbot/internal/netguard"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/tools"
)

// toolBackend is where tool commands act: the local data directory, or
// the running server's API (/api/tools) while it holds it.
type toolBackend interface {
	add(ctx context.Context, t client.Tool, replace bool) (client.Tool, error)
	list(ctx context.Context) ([]client.Tool, error)
	show(ctx context.Context, name string) (client.Tool, error)
	remove(ctx context.Context, name string) error
	test(ctx context.Context, name string, params map[string]string, asUser string) (client.ToolTestResult, error)
	close()
}

func newToolCommand(e env) *cobra.Command {
	var t serverTarget
	var allow string
	c := &cobra.Command{
		Use:   "tool",
		Short: "Manage API tools: answers from your own systems (\"where is my order?\")",
		Long: `A tool is a read-only HTTP lookup the bot makes to answer a user, e.g. an
order's status. It is declared in a JSON file (see the README, "API tools"):
its URL template, auth, parameters, triggers, the answer template and the
only response fields the answer may show. While 'chatbot serve' runs on the
same data directory, these commands use its API (/api/tools; set
CHATBOT_ADMIN_TOKEN).`,
		Example: `  chatbot tool add --file order_status.json --secret-env SHOP_API_TOKEN
  chatbot tool test order_status --param order_id=12345 --as-user cust-7
  chatbot tool list`,
	}
	bindServerTarget(c, e, &t)
	c.PersistentFlags().StringVar(&allow, "allow-outgoing", e.or("CHATBOT_ALLOW_OUTGOING", ""),
		"hosts or CIDRs a local test call may reach although private or loopback (env CHATBOT_ALLOW_OUTGOING; a running server uses its own)")
	open := func() (toolBackend, error) { return t.tools(e, allow) }
	c.AddCommand(newToolAdd(e, open), newToolList(open), newToolShow(open), newToolRemove(open), newToolTest(open))
	return c
}

func newToolAdd(e env, open func() (toolBackend, error)) *cobra.Command {
	var file, secretEnv string
	var replace bool
	c := &cobra.Command{
		Use:   "add --file FILE",
		Short: "Declare a tool from a JSON file (or replace one with --replace)",
		Example: `  chatbot tool add --file order_status.json --secret-env SHOP_API_TOKEN
  chatbot tool add --file order_status.json --replace`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("--file is required: the tool's JSON declaration (- for standard input)")
			}
			t, err := readToolFile(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			if secretEnv != "" {
				v, err := e.lookup(secretEnv)
				if err != nil {
					return err
				}
				if v == "" {
					return fmt.Errorf("--secret-env: the environment variable %s is not set", secretEnv)
				}
				t.Auth.Secret = v
			}
			b, err := open()
			if err != nil {
				return err
			}
			defer b.close()
			got, err := b.add(cmd.Context(), t, replace)
			if err != nil {
				return err
			}
			verb := "added"
			if replace {
				verb = "replaced"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tool %s %s: %s %s (auth %s, enabled for %s)\n", got.Name, verb, got.Method, got.URL,
				got.Auth.Kind, enabledText(got.EnabledFor))
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&file, "file", "", "the tool's JSON declaration (- for standard input)")
	f.StringVar(&secretEnv, "secret-env", "", "take auth.secret from this environment variable instead of the file")
	f.BoolVar(&replace, "replace", false, "replace the tool of the same name (an empty secret keeps the stored one)")
	return c
}

func readToolFile(stdin io.Reader, path string) (client.Tool, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return client.Tool{}, fmt.Errorf("read the tool's declaration: %w", err)
	}
	var t client.Tool
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return client.Tool{}, fmt.Errorf("%s: not a tool declaration: %w", path, err)
	}
	return t, nil
}

func enabledText(where []string) string {
	if len(where) == 0 {
		return "nowhere yet (set enabled_for)"
	}
	return strings.Join(where, ",")
}

func newToolList(open func() (toolBackend, error)) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the tools",
		Example: "  chatbot tool list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := open()
			if err != nil {
				return err
			}
			defer b.close()
			ts, err := b.list(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tMETHOD\tURL\tAUTH\tENABLED FOR")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Method, t.URL, t.Auth.Kind, enabledText(t.EnabledFor))
			}
			return tw.Flush()
		},
	}
}

func newToolShow(open func() (toolBackend, error)) *cobra.Command {
	return &cobra.Command{
		Use:     "show NAME",
		Short:   "Print a tool's declaration (its secret masked)",
		Example: "  chatbot tool show order_status",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := open()
			if err != nil {
				return err
			}
			defer b.close()
			t, err := b.show(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(t)
		},
	}
}

func newToolRemove(open func() (toolBackend, error)) *cobra.Command {
	return &cobra.Command{
		Use:     "remove NAME",
		Short:   "Remove a tool; conversations waiting on it move on",
		Example: "  chatbot tool remove order_status",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := open()
			if err != nil {
				return err
			}
			defer b.close()
			if err := b.remove(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tool %s removed\n", args[0])
			return nil
		},
	}
}

func newToolTest(open func() (toolBackend, error)) *cobra.Command {
	var params []string
	var asUser string
	c := &cobra.Command{
		Use:   "test NAME",
		Short: "Make the tool's real call and print what the user would see, the raw status and the time",
		Example: `  chatbot tool test order_status --param order_id=12345 --as-user cust-7
  chatbot tool test order_status --as-user cust-7   # shows the question asked for a missing parameter`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kv := map[string]string{}
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return fmt.Errorf("--param %q: write name=value", p)
				}
				kv[k] = v
			}
			b, err := open()
			if err != nil {
				return err
			}
			defer b.close()
			r, err := b.test(cmd.Context(), args[0], kv, asUser)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "the user sees: %s\n", r.Answer)
			fmt.Fprintf(out, "response_type: %s\noutcome:       %s\n", r.ResponseType, r.Outcome)
			if r.Status != 0 {
				fmt.Fprintf(out, "status:        %d\n", r.Status)
			}
			fmt.Fprintf(out, "time:          %d ms\n", r.LatencyMS)
			if r.Error != "" {
				fmt.Fprintf(out, "why:           %s\n", r.Error)
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&params, "param", nil, "a parameter, name=value (repeatable)")
	c.Flags().StringVar(&asUser, "as-user", "cli", "the user id the call is made for ({{user_id}})")
	return c
}

// tools opens the data directory, or the API of the server holding it
// (or named by --server).
func (t serverTarget) tools(e env, allow string) (toolBackend, error) {
	if t.server == "" {
		st, err := openStoreForCLI(e, t.dataDir)
		if err == nil {
			policy, err := netguard.ParseAllowList(allow)
			if err != nil {
				st.Close()
				return nil, err
			}
			caller, err := tools.NewCaller(tools.Options{Policy: policy, Recorder: st})
			if err != nil {
				st.Close()
				return nil, err
			}
			return localTools{st: st, m: tools.NewManager(st, tools.NewStep(st, caller, tools.StepOptions{}))}, nil
		}
		if !errors.Is(err, store.ErrLocked) {
			return nil, err
		}
	}
	c, err := t.remoteClient(e)
	if err != nil {
		return nil, err
	}
	return remoteTools{c}, nil
}

type localTools struct {
	st *store.Store
	m  *tools.Manager
}

// convert copies between the server's and the client's form of the same
// JSON.
func convert[T any](in any) (T, error) {
	var out T
	b, err := json.Marshal(in)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	return out, err
}

func (l localTools) add(_ context.Context, ct client.Tool, replace bool) (client.Tool, error) {
	t, err := convert[tools.Tool](ct)
	if err != nil {
		return client.Tool{}, err
	}
	if replace {
		t, err = l.m.Replace(t.Name, t)
	} else {
		t, err = l.m.Create(t)
	}
	if err != nil {
		return client.Tool{}, err
	}
	return convert[client.Tool](t)
}

func (l localTools) list(context.Context) ([]client.Tool, error) {
	ts, err := l.m.List()
	if err != nil {
		return nil, err
	}
	return convert[[]client.Tool](ts)
}

func (l localTools) show(_ context.Context, name string) (client.Tool, error) {
	t, err := l.m.Get(name)
	if err != nil {
		return client.Tool{}, err
	}
	return convert[client.Tool](t)
}

func (l localTools) remove(_ context.Context, name string) error { return l.m.Delete(name) }

func (l localTools) test(ctx context.Context, name string, params map[string]string, asUser string) (client.ToolTestResult, error) {
	r, err := l.m.Test(ctx, name, params, asUser)
	if err != nil {
		return client.ToolTestResult{}, err
	}
	return convert[client.ToolTestResult](r)
}

func (l localTools) close() { l.st.Close() }

type remoteTools struct{ c *client.Client }

func (r remoteTools) add(ctx context.Context, t client.Tool, replace bool) (client.Tool, error) {
	if replace {
		return r.c.ReplaceTool(ctx, t.Name, t)
	}
	return r.c.CreateTool(ctx, t)
}
func (r remoteTools) list(ctx context.Context) ([]client.Tool, error) {
	ts, err := r.c.Tools(ctx)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	return ts, err
}
func (r remoteTools) show(ctx context.Context, name string) (client.Tool, error) {
	return r.c.GetTool(ctx, name)
}
func (r remoteTools) remove(ctx context.Context, name string) error { return r.c.DeleteTool(ctx, name) }
func (r remoteTools) test(ctx context.Context, name string, params map[string]string, asUser string) (client.ToolTestResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	return r.c.TestTool(ctx, name, params, asUser)
}
func (r remoteTools) close() {}
