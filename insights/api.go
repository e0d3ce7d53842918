package insights

import (
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// API bounds.
const (
	defaultDays          = 7
	maxDays              = 366
	defaultGapClusters   = 50
	defaultWorstAnswers  = 20
	maxListConversations = 500
)

// apiRoutes mounts the insights API, for the admin token or panel session
// (protect):
//
//	GET /api/insights                    outcome and rating numbers by day and week
//	GET /api/insights/gaps               gap clusters ( .csv: as CSV)
//	GET /api/insights/answers            the worst-rated answers
//	GET /api/insights/conversations      conversations with their outcome ( .csv: as CSV)
func (s *Service) apiRoutes(r *mux.Router, protect func(http.Handler) http.Handler) {
	get := func(path string, h http.HandlerFunc) { r.Handle(path, protect(h)).Methods(http.MethodGet) }
	get("/api/insights", s.summaryAPI)
	get("/api/insights/gaps", s.gapsAPI)
	get("/api/insights/gaps.csv", s.gapsCSV)
	get("/api/insights/answers", s.answersAPI)
	get("/api/insights/conversations", s.conversationsAPI)
	get("/api/insights/conversations.csv", s.conversationsCSV)
}

// query is the common query of the insights API: the days from..to
// (inclusive, UTC) and the integration (or widget), all when neither.
type query struct {
	from, to time.Time
	scope    store.Scope
}

func (s *Service) parseQuery(r *http.Request) (query, error) {
	v := r.URL.Query()
	today := s.opts.Now().UTC().Truncate(24 * time.Hour)
	q := query{to: today}
	var err error
	if t := v.Get("to"); t != "" {
		if q.to, err = time.Parse(time.DateOnly, t); err != nil {
			return q, httpapi.QueryError("to", "must be a date as YYYY-MM-DD")
		}
	}
	q.from = q.to.AddDate(0, 0, -(defaultDays - 1))
	if f := v.Get("from"); f != "" {
		if q.from, err = time.Parse(time.DateOnly, f); err != nil {
			return q, httpapi.QueryError("from", "must be a date as YYYY-MM-DD")
		}
	}
	if q.from.After(q.to) {
		return q, httpapi.QueryError("from", "must not be after to")
	}
	if q.to.Sub(q.from) >= maxDays*24*time.Hour {
		return q, httpapi.QueryError("from", "the range is at most %d days", maxDays)
	}
	if q.scope.ConfigID, err = optionalID(v.Get("integration")); err != nil {
		return q, httpapi.QueryError("integration", "must be an integration id (a positive integer)")
	}
	if q.scope.WidgetID, err = optionalID(v.Get("widget")); err != nil {
		return q, httpapi.QueryError("widget", "must be a widget id (a positive integer)")
	}
	if q.scope.ConfigID != 0 && q.scope.WidgetID != 0 {
		return q, httpapi.QueryError("widget", "give integration or widget, not both")
	}
	return q, nil
}

func optionalID(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err == nil && id == 0 {
		err = strconv.ErrRange
	}
	return id, err
}

// Period is the numbers of one day, one week or the whole range.
type Period struct {
	Period          string   `json:"period"` // the day, the week's Monday, or "total"
	Conversations   int      `json:"conversations"`
	Resolved        int      `json:"resolved_by_bot"`
	Open            int      `json:"open"`
	HandedOff       int      `json:"handed_off"`
	Unanswered      int      `json:"unanswered"`
	NotHelpful      int      `json:"not_helpful"`
	Turns           int      `json:"turns"`
	RatedHelpful    int      `json:"rated_helpful"`
	RatedNotHelpful int      `json:"rated_not_helpful"`
	ResolutionRate  *float64 `json:"resolution_rate"` // of the conversations; null when none
	HandoffRate     *float64 `json:"handoff_rate"`
	UnansweredRate  *float64 `json:"unanswered_rate"`
	FeedbackScore   *float64 `json:"feedback_score"` // helpful share of the ratings; null when none
}

func (p *Period) add(d store.DayCounts) {
	p.Conversations += d.Conversations
	p.Resolved += d.Resolved
	p.Open += d.Open
	p.HandedOff += d.HandedOff
	p.Unanswered += d.Unanswered
	p.NotHelpful += d.NotHelpful
	p.Turns += d.Turns
	p.RatedHelpful += d.RatedHelpful
	p.RatedNotHelpful += d.RatedNot
}

func ratio(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	r := float64(int(float64(n)/float64(of)*10000+0.5)) / 10000 // 4 decimals
	return &r
}

func (p *Period) rates() {
	p.ResolutionRate = ratio(p.Resolved, p.Conversations)
	p.HandoffRate = ratio(p.HandedOff, p.Conversations)
	p.UnansweredRate = ratio(p.Unanswered, p.Conversations)
	p.FeedbackScore = ratio(p.RatedHelpful, p.RatedHelpful+p.RatedNotHelpful)
}

// Summary is the numbers of a range: in total, by day and by week
// (weeks start on Monday; the first and last may be partial).
type Summary struct {
	From          string   `json:"from"`
	To            string   `json:"to"`
	QuietSeconds  int64    `json:"quiet_period_seconds"`
	IntegrationID uint64   `json:"integration,omitempty"`
	WidgetID      uint64   `json:"widget,omitempty"`
	Total         Period   `json:"total"`
	Days          []Period `json:"days"`
	Weeks         []Period `json:"weeks"`
}

// Summarize reads the numbers of q: one record per day and integration,
// and the answers of the last quiet period.
func (s *Service) Summarize(q query) (Summary, error) {
	days, err := s.st.OutcomeDays(q.from, q.to, q.scope, s.opts.Now(), s.opts.Quiet)
	if err != nil {
		return Summary{}, err
	}
	out := Summary{From: store.Day(q.from), To: store.Day(q.to), QuietSeconds: int64(s.opts.Quiet / time.Second),
		IntegrationID: q.scope.ConfigID, WidgetID: q.scope.WidgetID, Total: Period{Period: "total"}, Days: []Period{}, Weeks: []Period{}}
	for d := q.from; !d.After(q.to); d = d.AddDate(0, 0, 1) {
		counts := days[store.Day(d)]
		day := Period{Period: store.Day(d)}
		day.add(counts)
		day.rates()
		out.Days = append(out.Days, day)
		week := store.Day(d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)))
		if len(out.Weeks) == 0 || out.Weeks[len(out.Weeks)-1].Period != week {
			out.Weeks = append(out.Weeks, Period{Period: week})
		}
		out.Weeks[len(out.Weeks)-1].add(counts)
		out.Total.add(counts)
	}
	for i := range out.Weeks {
		out.Weeks[i].rates()
	}
	out.Total.rates()
	return out, nil
}

func (s *Service) summaryAPI(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sum, err := s.Summarize(q)
	if err != nil {
		s.fail(w, r, apperr.Wrap(apperr.Unavailable, err, "could not read the insights; try again"))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, struct {
		Success bool `json:"success"`
		Summary
	}{true, sum})
}

// gapsSince is the start of the gaps' window: from, or the default
// window before now.
func (s *Service) gaps(ctx context.Context, r *http.Request) ([]Cluster, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	since := s.opts.Now().Add(-DefaultGapWindow)
	if r.URL.Query().Get("from") != "" {
		since = q.from
	}
	clusters, err := s.Gaps(ctx, since, q.scope)
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "could not read the knowledge gaps; try again")
	}
	limit, err := limitParam(r, defaultGapClusters)
	if err != nil {
		return nil, err
	}
	return clusters[:min(limit, len(clusters))], nil
}

func limitParam(r *http.Request, def int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, httpapi.QueryError("limit", "must be a number from 1 to 1000")
	}
	return n, nil
}

func (s *Service) gapsAPI(w http.ResponseWriter, r *http.Request) {
	clusters, err := s.gaps(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "clusters": clusters})
}

func (s *Service) gapsCSV(w http.ResponseWriter, r *http.Request) {
	clusters, err := s.gaps(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cw := startCSV(w, "knowledge-gaps.csv", "count", "representative", "last_seen", "no_answer", "low_confidence", "not_helpful", "examples")
	for _, c := range clusters {
		cw.Write(cells(strconv.Itoa(c.Count), c.Representative, c.LastSeen.UTC().Format(time.RFC3339),
			strconv.Itoa(c.Reasons["no_answer"]), strconv.Itoa(c.Reasons["low_confidence"]), strconv.Itoa(c.Reasons["not_helpful"]),
			strings.Join(c.Examples, " | ")))
	}
	cw.Flush()
}

// RatedAnswer is one answer with its ratings.
type RatedAnswer struct {
	MessageID      uint64                `json:"message_id"`
	Question       string                `json:"question"`
	ResponseType   store.ResponseType    `json:"response_type"`
	Sources        []store.MessageSource `json:"sources"`
	ConfigID       uint64                `json:"config_id,omitempty"`
	WidgetID       uint64                `json:"widget_id,omitempty"`
	ConversationID string                `json:"conversation_id"`
	Helpful        int                   `json:"helpful"`
	NotHelpful     int                   `json:"not_helpful"`
	Comments       []string              `json:"comments"` // the newest, up to 3
	LastRatedAt    time.Time             `json:"last_rated_at"`
}

// WorstAnswers returns the answers rated not helpful in q's range, most
// not-helpful ratings first. It reads the ratings (not the messages).
func (s *Service) WorstAnswers(q query, limit int) ([]RatedAnswer, error) {
	byID := map[uint64]*RatedAnswer{}
	end := q.to.AddDate(0, 0, 1)
	err := s.st.EachFeedback(q.from, func(f store.Feedback) error {
		if !f.UpdatedAt.Before(end) || (q.scope != store.Scope{} && (f.ConfigID != q.scope.ConfigID || f.WidgetID != q.scope.WidgetID)) {
			return nil
		}
		a := byID[f.MessageID]
		if a == nil {
			a = &RatedAnswer{MessageID: f.MessageID, Question: f.Question, ResponseType: f.ResponseType, Sources: f.Sources,
				ConfigID: f.ConfigID, WidgetID: f.WidgetID, ConversationID: f.ConversationID, Comments: []string{}}
			if a.Sources == nil {
				a.Sources = []store.MessageSource{}
			}
			byID[f.MessageID] = a
		}
		if f.Rating == store.RatingHelpful {
			a.Helpful++
		} else {
			a.NotHelpful++
		}
		if f.UpdatedAt.After(a.LastRatedAt) {
			a.LastRatedAt = f.UpdatedAt
		}
		if f.Comment != "" {
			a.Comments = append(a.Comments, f.Comment)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := []RatedAnswer{}
	for _, a := range byID {
		if a.NotHelpful > 0 {
			a.Comments = a.Comments[max(0, len(a.Comments)-3):]
			out = append(out, *a)
		}
	}
	slices.SortFunc(out, func(a, b RatedAnswer) int {
		if a.NotHelpful != b.NotHelpful {
			return b.NotHelpful - a.NotHelpful
		}
		if a.Helpful != b.Helpful {
			return a.Helpful - b.Helpful
		}
		return int(b.MessageID) - int(a.MessageID)
	})
	return out[:min(limit, len(out))], nil
}

func (s *Service) answersAPI(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := limitParam(r, defaultWorstAnswers)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	answers, err := s.WorstAnswers(q, limit)
	if err != nil {
		s.fail(w, r, apperr.Wrap(apperr.Unavailable, err, "could not read the ratings; try again"))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "answers": answers})
}

// ConversationRow is a conversation's current episode with its outcome.
type ConversationRow struct {
	ConfigID       uint64        `json:"config_id,omitempty"`
	WidgetID       uint64        `json:"widget_id,omitempty"`
	Platform       string        `json:"platform"`
	ConversationID string        `json:"conversation_id"`
	Episode        int           `json:"episode"`
	Day            string        `json:"day"`
	StartedAt      time.Time     `json:"started_at"`
	LastAt         time.Time     `json:"last_at"`
	Turns          int           `json:"turns"`
	Outcome        store.Outcome `json:"outcome"`
}

// conversations calls fn with each conversation whose current episode
// started in q's range (and has the outcome, when one is given).
func (s *Service) conversations(r *http.Request, fn func(ConversationRow) bool) error {
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	want := store.Outcome(r.URL.Query().Get("outcome"))
	switch want {
	case "", store.OutcomeResolved, store.OutcomeOpen, store.OutcomeHandedOff, store.OutcomeUnanswered, store.OutcomeNotHelpful:
	default:
		return httpapi.QueryError("outcome", "must be resolved_by_bot, open, handed_off, unanswered or not_helpful")
	}
	now, first, last := s.opts.Now(), store.Day(q.from), store.Day(q.to)
	errStop := apperr.New(apperr.Internal, "stop")
	err = s.st.EachConvOutcome(q.scope, func(c store.ConvOutcome) error {
		o := c.Effective(now, s.opts.Quiet)
		if c.Day < first || c.Day > last || (want != "" && o != want) {
			return nil
		}
		if !fn(ConversationRow{ConfigID: c.ConfigID, WidgetID: c.WidgetID, Platform: c.Platform, ConversationID: c.ConversationID,
			Episode: c.Episode, Day: c.Day, StartedAt: c.StartedAt, LastAt: c.LastAt, Turns: c.Turns, Outcome: o}) {
			return errStop
		}
		return nil
	})
	if err == errStop {
		return nil
	}
	if err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "could not read the conversations; try again")
	}
	return nil
}

func (s *Service) conversationsAPI(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r, 100)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit = min(limit, maxListConversations)
	rows := []ConversationRow{}
	err = s.conversations(r, func(c ConversationRow) bool {
		rows = append(rows, c)
		return len(rows) < limit
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "conversations": rows})
}

func (s *Service) conversationsCSV(w http.ResponseWriter, r *http.Request) {
	var rows []ConversationRow
	err := s.conversations(r, func(c ConversationRow) bool { rows = append(rows, c); return true })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cw := startCSV(w, "conversations.csv", "integration_id", "widget_id", "platform", "conversation_id", "episode", "day",
		"started_at", "last_at", "turns", "outcome")
	for _, c := range rows {
		cw.Write(cells(strconv.FormatUint(c.ConfigID, 10), strconv.FormatUint(c.WidgetID, 10), c.Platform, c.ConversationID,
			strconv.Itoa(c.Episode), c.Day, c.StartedAt.UTC().Format(time.RFC3339), c.LastAt.UTC().Format(time.RFC3339),
			strconv.Itoa(c.Turns), string(c.Outcome)))
	}
	cw.Flush()
}

// startCSV writes the headers and the header row of a CSV download.
func startCSV(w http.ResponseWriter, name string, header ...string) *csv.Writer {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	cw := csv.NewWriter(w)
	cw.Write(header)
	return cw
}

// cells makes text safe to open in a spreadsheet: a cell that starts like
// a formula (=, +, -, @, tab, CR) gets a leading apostrophe, so a
// customer's question is shown, never evaluated.
func cells(values ...string) []string {
	for i, v := range values {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			values[i] = "'" + v
		}
	}
	return values
}
