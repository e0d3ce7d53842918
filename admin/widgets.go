package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// Widget limits.
const (
	DefaultWidgetRate = 30  // chat requests per minute per widget
	maxWidgetRate     = 600 // per minute
	maxWidgetOrigins  = 20
	maxWidgetName     = 100
)

// widgetInput is the body of widget create and update; absent fields keep
// their value on update.
type widgetInput struct {
	Name           *string   `json:"name"`
	AllowedOrigins *[]string `json:"allowed_origins"`
	RatePerMinute  *int      `json:"rate_per_minute"`
	IsActive       *bool     `json:"is_active"`
	RotateKey      bool      `json:"rotate_key,omitempty"`
}

type widgetList struct {
	Success bool            `json:"success"`
	Widgets []*store.Widget `json:"widgets"`
}

type widgetOne struct {
	Success bool          `json:"success"`
	Widget  *store.Widget `json:"widget"`
}

func (h *Handler) listWidgets(w http.ResponseWriter, r *http.Request) {
	list, err := h.st.Widgets()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, widgetList{Success: true, Widgets: list})
}

func (h *Handler) createWidget(w http.ResponseWriter, r *http.Request) {
	var in widgetInput
	if err := httpapi.Decode(w, r, httpapi.DefaultBodyLimit, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	wd := &store.Widget{RatePerMinute: DefaultWidgetRate, IsActive: true, Key: secret.NewToken("wk_")}
	if in.Name == nil {
		h.fail(w, r, apperr.Invalidf("name", "name is required"))
		return
	}
	if in.AllowedOrigins == nil {
		h.fail(w, r, apperr.Invalidf("allowed_origins", "allowed_origins is required: the sites (https://example.com) that may embed this widget"))
		return
	}
	if err := applyWidget(wd, in); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.st.CreateWidget(wd); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "widget created", "widget_id", wd.ID)
	httpapi.WriteJSON(w, http.StatusCreated, widgetOne{Success: true, Widget: wd})
}

func (h *Handler) updateWidget(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in widgetInput
	if err := httpapi.Decode(w, r, httpapi.DefaultBodyLimit, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	wd, err := h.st.UpdateWidget(id, func(wd *store.Widget) error { return applyWidget(wd, in) })
	if err != nil {
		h.fail(w, r, widgetStoreError(err, id))
		return
	}
	h.opts.WidgetChanged(id)
	httpapi.WriteJSON(w, http.StatusOK, widgetOne{Success: true, Widget: wd})
}

func (h *Handler) deleteWidget(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.st.DeleteWidget(id); err != nil {
		h.fail(w, r, widgetStoreError(err, id))
		return
	}
	h.opts.WidgetChanged(id)
	h.log.InfoContext(r.Context(), "widget deleted", "widget_id", id)
	httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func widgetStoreError(err error, id uint64) error {
	if errors.Is(err, store.ErrNotFound) {
		return apperr.Wrap(apperr.NotFound, err, "no widget with id %d", id)
	}
	return err
}

func applyWidget(wd *store.Widget, in widgetInput) error {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || utf8.RuneCountInString(name) > maxWidgetName || !utf8.ValidString(name) {
			return apperr.Invalidf("name", "name must be 1 to %d characters", maxWidgetName)
		}
		wd.Name = name
	}
	if in.AllowedOrigins != nil {
		list := *in.AllowedOrigins
		if len(list) == 0 || len(list) > maxWidgetOrigins {
			return apperr.Invalidf("allowed_origins", "allowed_origins must list 1 to %d origins", maxWidgetOrigins)
		}
		out := make([]string, 0, len(list))
		for _, o := range list {
			n, err := NormalizeOrigin(o)
			if err != nil {
				return apperr.Invalidf("allowed_origins", "allowed_origins: %q %s", o, err.Error())
			}
			out = append(out, n)
		}
		wd.AllowedOrigins = out
	}
	if in.RatePerMinute != nil {
		if *in.RatePerMinute < 1 || *in.RatePerMinute > maxWidgetRate {
			return apperr.Invalidf("rate_per_minute", "rate_per_minute must be from 1 to %d", maxWidgetRate)
		}
		wd.RatePerMinute = *in.RatePerMinute
	}
	if in.IsActive != nil {
		wd.IsActive = *in.IsActive
	}
	if in.RotateKey {
		wd.Key = secret.NewToken("wk_")
	}
	return nil
}

// NormalizeOrigin turns "https://Example.com/" into "https://example.com",
// the form browsers send in the Origin header. Paths, queries, user info
// and schemes other than http and https are refused.
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Hostname() == "" || u.Opaque != "" {
		return "", errors.New("is not an origin like https://example.com")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", errors.New("must start with http:// or https://")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("must be only scheme, host and port, with no path")
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		host = strings.ToLower(u.Hostname())
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
	}
	return u.Scheme + "://" + host, nil
}

// pathID parses the {id} route variable.
func pathID(r *http.Request) (uint64, error) {
	raw := mux.Vars(r)["id"]
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || id == 0 {
		return 0, apperr.Invalidf("id", "id must be a positive integer, not %q", raw)
	}
	return id, nil
}

// NewWidget validates a new widget as POST /admin/api/widgets does (name,
// origins, rate; rate 0 takes DefaultWidgetRate) and returns it active with
// a fresh key, for `chatbot widget add` on a data directory no server holds.
func NewWidget(name string, origins []string, rate int) (*store.Widget, error) {
	wd := &store.Widget{RatePerMinute: DefaultWidgetRate, IsActive: true, Key: secret.NewToken("wk_")}
	in := widgetInput{Name: &name, AllowedOrigins: &origins}
	if rate != 0 {
		in.RatePerMinute = &rate
	}
	if err := applyWidget(wd, in); err != nil {
		return nil, err
	}
	return wd, nil
}
