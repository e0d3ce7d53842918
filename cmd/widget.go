package cmd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/admin"
	"github.com/chatbot/chatbot/client"
	"github.com/chatbot/chatbot/store"
)

// widgetBackend is where widget commands act: the local data directory,
// or the running server's API (/admin/api/widgets) while it holds it.
type widgetBackend interface {
	add(ctx context.Context, name string, origins []string, rate int) (*store.Widget, error)
	list(ctx context.Context) ([]*store.Widget, error)
	remove(ctx context.Context, id uint64) error
	close()
}

func newWidgetCommand(e env) *cobra.Command {
	var t serverTarget
	c := &cobra.Command{
		Use:   "widget",
		Short: "Manage the website chat widgets (allowed origins, rate limit, key)",
		Long: `A widget is one website that embeds the chat bubble (<script src=".../widget.js"
data-key="wk_...">). Its key is public; the origins allowed to use it and its
rate limit protect it. While 'chatbot serve' runs on the same data directory,
these commands use its API (/admin/api/widgets; set CHATBOT_ADMIN_TOKEN).`,
		Example: `  chatbot widget add --name "Help center" --origin https://help.example.com
  chatbot widget list
  chatbot widget remove 1`,
	}
	bindServerTarget(c, e, &t)
	c.AddCommand(newWidgetAdd(e, &t), newWidgetList(e, &t), newWidgetRemove(e, &t))
	return c
}

func newWidgetAdd(e env, t *serverTarget) *cobra.Command {
	var (
		name    string
		origins []string
		rate    int
	)
	c := &cobra.Command{
		Use:   "add",
		Short: "Add a widget; prints its key and the snippet to paste",
		Example: `  chatbot widget add --name "Help center" --origin https://help.example.com
  chatbot widget add --name Shop --origin https://shop.example.com --origin https://www.example.com --rate 60`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return errors.New("--name is required: a name to recognise the widget by")
			}
			if len(origins) == 0 {
				return errors.New("--origin is required: the site that embeds the widget, e.g. --origin https://help.example.com (repeatable)")
			}
			b, err := t.widgets(e)
			if err != nil {
				return err
			}
			defer b.close()
			w, err := b.add(cmd.Context(), name, origins, rate)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "widget %d added: %s (%s, %d requests/min)\nkey: %s\n", w.ID, w.Name, strings.Join(w.AllowedOrigins, ", "), w.RatePerMinute, w.Key)
			fmt.Fprintf(out, "paste into the site's pages (with this server's public URL):\n  <script src=\"https://YOUR-CHATBOT-HOST/widget.js\" data-key=\"%s\" defer></script>\n", w.Key)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&name, "name", "", "a name to recognise the widget by (required)")
	f.StringSliceVar(&origins, "origin", nil, "a site allowed to embed it, scheme://host[:port] (required; repeatable)")
	f.IntVar(&rate, "rate", 0, fmt.Sprintf("chat requests per minute (default %d)", admin.DefaultWidgetRate))
	return c
}

func newWidgetList(e env, t *serverTarget) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the widgets with their keys and origins",
		Example: "  chatbot widget list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := t.widgets(e)
			if err != nil {
				return err
			}
			defer b.close()
			ws, err := b.list(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tKEY\tORIGINS\tRATE/MIN\tACTIVE")
			for _, w := range ws {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%t\n", w.ID, w.Name, w.Key, strings.Join(w.AllowedOrigins, ","), w.RatePerMinute, w.IsActive)
			}
			return tw.Flush()
		},
	}
}

func newWidgetRemove(e env, t *serverTarget) *cobra.Command {
	return &cobra.Command{
		Use:     "remove ID",
		Short:   "Remove a widget: its key stops working at once",
		Example: "  chatbot widget remove 1",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil || id == 0 {
				return fmt.Errorf("ID must be a widget's number (see chatbot widget list), not %q", args[0])
			}
			b, err := t.widgets(e)
			if err != nil {
				return err
			}
			defer b.close()
			if err := b.remove(cmd.Context(), id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "widget %d removed\n", id)
			return nil
		},
	}
}

// widgets opens the data directory, or the API of the server holding it
// (or named by --server).
func (t serverTarget) widgets(e env) (widgetBackend, error) {
	if t.server == "" {
		st, err := openStoreForCLI(e, t.dataDir)
		if err == nil {
			return localWidgets{st}, nil
		}
		if !errors.Is(err, store.ErrLocked) {
			return nil, err
		}
	}
	c, err := t.remoteClient(e)
	if err != nil {
		return nil, err
	}
	return remoteWidgets{c}, nil
}

type localWidgets struct{ st *store.Store }

func (l localWidgets) add(_ context.Context, name string, origins []string, rate int) (*store.Widget, error) {
	w, err := admin.NewWidget(name, origins, rate)
	if err != nil {
		return nil, err
	}
	return w, l.st.CreateWidget(w)
}
func (l localWidgets) list(context.Context) ([]*store.Widget, error) { return l.st.Widgets() }
func (l localWidgets) remove(_ context.Context, id uint64) error {
	err := l.st.DeleteWidget(id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no widget with id %d (see chatbot widget list)", id)
	}
	return err
}
func (l localWidgets) close() { l.st.Close() }

type remoteWidgets struct{ c *client.Client }

func (r remoteWidgets) add(ctx context.Context, name string, origins []string, rate int) (*store.Widget, error) {
	in := map[string]any{"name": name, "allowed_origins": origins}
	if rate != 0 {
		in["rate_per_minute"] = rate
	}
	var out struct {
		Widget *store.Widget `json:"widget"`
	}
	if err := r.c.Do(ctx, "POST", "/admin/api/widgets", in, &out); err != nil {
		return nil, err
	}
	if out.Widget == nil {
		return nil, errors.New("the server's answer to POST /admin/api/widgets has no widget")
	}
	return out.Widget, nil
}
func (r remoteWidgets) list(ctx context.Context) ([]*store.Widget, error) {
	var out struct {
		Widgets []*store.Widget `json:"widgets"`
	}
	err := r.c.Do(ctx, "GET", "/admin/api/widgets", nil, &out)
	return out.Widgets, err
}
func (r remoteWidgets) remove(ctx context.Context, id uint64) error {
	return r.c.Do(ctx, "DELETE", "/admin/api/widgets/"+strconv.FormatUint(id, 10), nil, nil)
}
func (r remoteWidgets) close() {}
