package admin

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

type loginInput struct {
	Token string `json:"token"`
}

type sessionView struct {
	Success   bool      `json:"success"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// errLoginFailed is the one answer to every wrong token: it does not say
// whether the length, the prefix or anything else was off.
const errLoginFailed = "login failed: that is not the admin token"

// limiterKey groups an IPv6 client by its /64 (httpapi.ThrottleKey, the
// grouping every failure throttle uses).
func limiterKey(ip string) string { return httpapi.ThrottleKey(ip) }

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	ip := limiterKey(h.clientIP(r))
	if d := h.logins.wait(ip); d > 0 {
		e := apperr.New(apperr.RateLimited, "too many failed logins from your address; try again in %d seconds", retryAfter(d))
		e.RetryAfterSeconds = retryAfter(d)
		h.fail(w, r, e)
		return
	}
	var in loginInput
	if err := httpapi.Decode(w, r, 16<<10, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if !h.auth.Valid(in.Token) {
		d := h.logins.fail(ip)
		h.log.WarnContext(r.Context(), "admin login failed", "client_ip", ip)
		e := apperr.New(apperr.Unauthorized, errLoginFailed)
		if d > 0 {
			e.RetryAfterSeconds = retryAfter(d)
		}
		h.fail(w, r, e)
		return
	}
	h.logins.succeed(ip)
	cookie, sess := h.auth.StartSession()
	h.setCookie(w, r, cookie, sess.Expires)
	h.log.InfoContext(r.Context(), "admin logged in", "client_ip", ip)
	httpapi.WriteJSON(w, http.StatusOK, sessionView{Success: true, CSRFToken: sess.CSRF, ExpiresAt: sess.Expires})
}

func (h *Handler) session(w http.ResponseWriter, r *http.Request) {
	sess, _, ok := h.auth.SessionOf(r)
	if !ok {
		h.fail(w, r, apperr.New(apperr.Unauthorized, "not logged in, or the session has expired"))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sessionView{Success: true, CSRFToken: sess.CSRF, ExpiresAt: sess.Expires})
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	sess, cookie, ok := h.auth.SessionOf(r)
	if ok && !h.auth.CSRFOK(r, sess) {
		h.fail(w, r, apperr.New(apperr.Forbidden, "missing or wrong CSRF token; reload the admin page"))
		return
	}
	if ok {
		h.auth.EndSession(cookie)
	}
	h.setCookie(w, r, "", time.Time{})
	httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

type overviewView struct {
	Success        bool                `json:"success"`
	Window         string              `json:"window"`
	Messages       *store.MessageStats `json:"messages"`
	Integrations   int                 `json:"integrations"`
	Widgets        int                 `json:"widgets"`
	QueueDepth     int                 `json:"delivery_queue_depth"`
	DatabaseBytes  int64               `json:"database_bytes"`
	AdminSessions  int                 `json:"admin_sessions"`
	RecentProblems int                 `json:"recent_problems"`
	Backup         any                 `json:"backup,omitempty"`
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	now := h.now()
	stats, err := h.st.MessageStats(now.Add(-24*time.Hour), time.Hour)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	keys, err := h.st.BucketKeys("webhook_configs", "widgets", "delivery_jobs")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	size, err := h.st.Size()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var backup any
	if h.opts.BackupStatus != nil {
		backup = h.opts.BackupStatus()
	}
	httpapi.WriteJSON(w, http.StatusOK, overviewView{
		Success: true, Window: "24h", Messages: stats, Backup: backup,
		Integrations: keys["webhook_configs"], Widgets: keys["widgets"], QueueDepth: keys["delivery_jobs"],
		DatabaseBytes: size, AdminSessions: h.auth.Sessions(),
		RecentProblems: len(h.opts.Logs.Records(slog.LevelWarn, "", 0)),
	})
}

type logsView struct {
	Success bool        `json:"success"`
	Records []LogRecord `json:"records"`
}

func (h *Handler) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	level := slog.LevelWarn
	switch strings.ToLower(q.Get("level")) {
	case "", "warn", "warning":
	case "error":
		level = slog.LevelError
	default:
		h.fail(w, r, httpapi.QueryError("level", "must be warn or error, not %q", q.Get("level")))
		return
	}
	limit := 200
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			h.fail(w, r, httpapi.QueryError("limit", "must be a number from 1 to 1000"))
			return
		}
		limit = n
	}
	recs := h.opts.Logs.Records(level, q.Get("q"), limit)
	httpapi.WriteJSON(w, http.StatusOK, logsView{Success: true, Records: recs})
}
