package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock moves only when the pacer waits on it (by the wait plus the
// next of extra, a late wake-up) or when a test moves it.
type fakeClock struct {
	now   time.Time
	extra []time.Duration
	waits []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.waits = append(c.waits, d)
	var e time.Duration
	if len(c.extra) > 0 {
		e, c.extra = c.extra[0], c.extra[1:]
	}
	c.now = c.now.Add(d + e)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// The pacer sends at the schedule's times, not after the previous answer:
// a start that takes 400 ms (as a slow answer would in a closed loop) makes
// the next request late, not later in the schedule; a request due while no
// slot is free is counted, not queued.
func TestPaceSendsOnTheScheduleFromAnInjectedClock(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	c := &fakeClock{now: t0, extra: []time.Duration{0, 5 * time.Millisecond}}
	var dues, sent []time.Duration
	st := pace(context.Background(), c, Schedule{Rate: 4, Duration: time.Second, Slack: 10 * time.Millisecond}, func(n int, due time.Time) bool {
		dues = append(dues, due.Sub(t0))
		sent = append(sent, c.now.Sub(t0))
		switch n {
		case 0:
			c.now = c.now.Add(400 * time.Millisecond) // a slow start
		case 2:
			return false // every slot busy
		}
		return true
	})
	ms := time.Millisecond
	if got, want := fmt.Sprint(dues), fmt.Sprint([]time.Duration{0, 250 * ms, 500 * ms, 750 * ms}); got != want {
		t.Errorf("due times %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(sent), fmt.Sprint([]time.Duration{0, 400 * ms, 500 * ms, 755 * ms}); got != want {
		t.Errorf("send times %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(c.waits), fmt.Sprint([]time.Duration{100 * ms, 250 * ms}); got != want {
		t.Errorf("waits %s, want %s", got, want)
	}
	want := PaceStats{Offered: 4, Started: 3, Late: 1, MaxLate: 150 * ms, NotSent: 1}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}

	// A count ends the schedule before its duration; 3 per second spaces
	// requests by a third of a second, truncated to the nanosecond.
	c = &fakeClock{now: t0}
	dues = nil
	st = pace(context.Background(), c, Schedule{Rate: 3, Duration: time.Minute, Count: 3}, func(_ int, due time.Time) bool {
		dues = append(dues, due.Sub(t0))
		return true
	})
	if got, want := fmt.Sprint(dues), fmt.Sprint([]time.Duration{0, 333333333, 666666666}); got != want || st.Offered != 3 || st.Late != 0 {
		t.Errorf("counted schedule: dues %s (want %s), %+v", got, want, st)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if st := pace(ctx, &fakeClock{now: t0}, Schedule{Rate: 1, Duration: time.Minute}, func(int, time.Time) bool { return true }); st.Offered != 0 {
		t.Errorf("an ended context still offered %+v", st)
	}
}

// The driver's open loop stamps each answer with its slot in the schedule.
func TestDriverOpenLoopStampsDueTimes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	d, err := NewDriver(LoadOptions{Users: 8, Requests: 5, Rate: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	t0 := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	d.clock = &fakeClock{now: t0}
	var mu sync.Mutex
	due := map[int]time.Duration{}
	res, err := d.Run(context.Background(), func(int) Request { return Request{Method: http.MethodGet, URL: srv.URL} }, func(r Response) {
		mu.Lock()
		due[r.Index] = r.Due.Sub(t0)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]time.Duration{0: 0, 1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 300 * time.Millisecond, 4: 400 * time.Millisecond}
	if fmt.Sprint(due) != fmt.Sprint(want) || res.ByStatus[200] != 5 || res.Dropped != 0 || res.Late != 0 {
		t.Fatalf("due %v (want %v); %v, dropped %d, late %d", due, want, res.ByStatus, res.Dropped, res.Late)
	}
}

// The receiver's lag runs from the answer at the tool to the first arrival
// of its delivery, never negative; ArrivedBy counts what had arrived by then.
func TestReceiverLagFromInjectedArrivals(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	var mu sync.Mutex
	arrivals := []time.Duration{100 * ms, 300 * ms, 50 * ms, 400 * ms, 500 * ms}
	r, err := newReceiver(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		a := arrivals[0]
		arrivals = arrivals[1:]
		return t0.Add(a)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Sequential posts, so each takes the next arrival time.
	for _, c := range []struct {
		id  string
		msg uint64
	}{{"msg_a", 2}, {"msg_b", 4}, {"msg_c", 6}, {"msg_a", 2}, {"msg_d", 9}} {
		req, _ := http.NewRequest(http.MethodPost, r.URL(), strings.NewReader(fmt.Sprintf(`{"message_id":%d}`, c.msg)))
		req.Header.Set("webhook-id", c.id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	expected := map[uint64]time.Time{2: t0, 4: t0.Add(100 * ms), 6: t0.Add(80 * ms), 8: t0}
	st := r.Stats(expected)
	want := ReceiverStats{Received: 5, Unique: 4, Duplicates: 1, Matched: 3, Last: t0.Add(300 * ms),
		Lag: Latency{Count: 3, Mean: 100 * ms, P50: 100 * ms, P95: 200 * ms, P99: 200 * ms, Max: 200 * ms}}
	if st != want {
		t.Fatalf("stats\n%+v, want\n%+v", st, want)
	}
	for by, n := range map[time.Duration]int{0: 0, 50 * ms: 1, 100 * ms: 2, 299 * ms: 2, 300 * ms: 3, time.Second: 3} {
		if got := r.ArrivedBy(expected, t0.Add(by)); got != n {
			t.Errorf("ArrivedBy(+%v) = %d, want %d", by, got, n)
		}
	}
}

// pacedReport is a phase that meets both goals: lag p99 900 ms, backlog 300
// with 400 allowed (one second of answers at 400/s).
func pacedReport() *Report {
	ms := time.Millisecond
	return &Report{
		Paced: &PacedReport{Fraction: 0.8, Sustainable: 500, Rate: 400, LoopAnswered: 620, LoopDelivered: 500,
			Load:     LoadResult{Sent: 4000, Late: 2, Elapsed: 10 * time.Second, ByStatus: map[int]int{200: 4000}},
			Latency:  Latency{Count: 4000, P50: 20 * ms, P99: 80 * ms},
			Produced: 4000, ReceivedByEnd: 3700, Delivered: 4000,
			Lag:     Latency{Count: 4000, P50: 150 * ms, P99: 900 * ms},
			Drain:   800 * ms,
			Commits: CommitCount{Known: true, Commits: 9000, Requests: 4000, Deliveries: 4000}},
		DeliveryFloor:      CommitResult{Writers: 1, Records: 1000, Commits: 1000, Elapsed: 5 * time.Second, Latency: Latency{Count: 1000, P50: 3 * ms, P99: 6 * ms}},
		DeliveryFloorBatch: CommitResult{Writers: 16, Records: 8000, Commits: 1000, Elapsed: 5 * time.Second},
		DrainCommits:       CommitCount{Known: true, Commits: 3000, Deliveries: 2000},
		SingleCommits:      CommitCount{Known: true, Commits: 1000, Requests: 200, Deliveries: 200},
	}
}

func TestDeliveryRowsExactValues(t *testing.T) {
	want := []Row{
		{Goal: "delivery lag p99 < 1 s at 80% load",
			Measured: "offered 400 req/s (80% of 500, the lower of 620 answered/s and 500 delivered/s under the closed loop), achieved 400; latency from the schedule p50 20.00 ms, p99 80.00 ms; lag p50 150.00 ms, p99 900.00 ms; 4000 of 4000 delivered; 2 sent late, 0 not sent (client busy)",
			Floor:    "one commit (one writer) p99 6.00 ms", Ratio: "150.0x", Met: "yes"},
		{Goal: "queue drains as fast as answers are produced at 80% load (backlog at the end ≤ 1 s of answers)",
			Measured: "produced 400/s, received 370/s over 10.0 s; backlog 300 at the end (allowed 400); drained 0.8 s after",
			Floor:    "delivery floor: one writer 200 commits/s; 16 writers 1600 records/s", Ratio: "1.1x", Met: "yes"},
		{Goal: "delivery floor: bbolt commits per second, same sync, reported",
			Measured: "one writer: 200 commits/s (p50 3.00 ms, p99 6.00 ms); 16 writers sharing commits: 1600 records/s in 200 commits/s (8.0 records per commit)"},
		{Goal: "commits per delivery (counted on /metrics), reported",
			Measured: "one user at a time: 1000 commits for 200 requests and 200 deliveries = 5.00 per request with its delivery; drain after the load (deliveries only): 3000 commits for 2000 deliveries = 1.50 per delivery; paced phase: 9000 commits for 4000 requests and 4000 deliveries = 2.25 per request with its delivery",
			Floor:    "1 commit per delivery", Ratio: "1.5x"},
	}
	got := pacedReport().deliveryRows()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// Each way to miss: the lag at its bound, one delivery too many left at the
// end, the tool not sending 5% of the offer, a delivery lost.
func TestDeliveryRowsMissed(t *testing.T) {
	for _, c := range []struct {
		name          string
		change        func(p *PacedReport)
		lagMet, drain string
	}{
		{"as measured", func(*PacedReport) {}, "yes", "yes"},
		{"lag p99 at 1 s", func(p *PacedReport) { p.Lag.P99 = time.Second }, "no", "yes"},
		{"backlog over one second of answers", func(p *PacedReport) { p.ReceivedByEnd = 3599 }, "yes", "no"},
		{"backlog at one second of answers", func(p *PacedReport) { p.ReceivedByEnd = 3600 }, "yes", "yes"},
		{"5% not sent", func(p *PacedReport) { p.Load.Sent, p.Load.Dropped = 3800, 200 }, "yes", "yes"},
		{"more than 5% not sent", func(p *PacedReport) { p.Load.Sent, p.Load.Dropped = 3799, 201 }, "no", "no"},
		{"a delivery lost", func(p *PacedReport) { p.Delivered = 3999 }, "no", "no"},
		{"nothing produced", func(p *PacedReport) { p.Produced, p.ReceivedByEnd, p.Delivered = 0, 0, 0 }, "no", "no"},
	} {
		r := pacedReport()
		c.change(r.Paced)
		rows := r.deliveryRows()
		if rows[0].Met != c.lagMet || rows[1].Met != c.drain {
			t.Errorf("%s: lag met %q (want %q), drain met %q (want %q)", c.name, rows[0].Met, c.lagMet, rows[1].Met, c.drain)
		}
	}
}

func TestCommitsRowWithoutTheCounter(t *testing.T) {
	r := pacedReport()
	r.DrainCommits, r.Paced.Commits, r.SingleCommits = CommitCount{}, CommitCount{}, CommitCount{}
	want := Row{Goal: "commits per delivery (counted on /metrics), reported",
		Measured: "not counted: the server has no chatbot_store_commits_total on /metrics", Floor: "1 commit per delivery"}
	if got := r.commitsRow(); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	r = pacedReport()
	r.DrainCommits = CommitCount{Known: true, Commits: 2}
	want.Measured = "one user at a time: 1000 commits for 200 requests and 200 deliveries = 5.00 per request with its delivery; drain after the load: no backlog left to drain; paced phase: 9000 commits for 4000 requests and 4000 deliveries = 2.25 per request with its delivery"
	if got := r.commitsRow(); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	r = &Report{} // no paced phase, no floor: only the commits row
	if rows := r.deliveryRows(); len(rows) != 1 || rows[0].Goal != want.Goal {
		t.Fatalf("rows without a paced phase: %+v", rows)
	}
}

func TestMetricValue(t *testing.T) {
	text := []byte("# HELP chatbot_store_commits_total bbolt commits.\n# TYPE chatbot_store_commits_total counter\n" +
		"chatbot_store_commits_total_other 7\nchatbot_store_commits_total{x=\"y\"} 8\nchatbot_store_commits_total 1234 1700000000\n")
	if v, ok := metricValue(text, commitsMetric); !ok || v != 1234 {
		t.Fatalf("metricValue = %v, %v; want 1234", v, ok)
	}
	for _, bad := range []string{"", "chatbot_store_commits_total\n", "chatbot_store_commits_total abc\n", "chatbot_store_commits_total \n", "other 1\n"} {
		if v, ok := metricValue([]byte(bad), commitsMetric); ok {
			t.Errorf("metricValue(%q) = %v, true", bad, v)
		}
	}
}

// The server's /metrics is read as untrusted text: no input panics.
func FuzzMetricValue(f *testing.F) {
	f.Add([]byte("chatbot_store_commits_total 12\n"))
	f.Add([]byte("chatbot_store_commits_total NaN 1 2\n# x\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		metricValue(text, commitsMetric)
	})
}

func TestCommitFloorCountsCommits(t *testing.T) {
	one, err := CommitFloor(context.Background(), CommitOptions{Dir: t.TempDir(), Writers: 1, Records: 50, NoSync: true})
	if err != nil || one.Records != 50 || one.Commits != 50 || one.Latency.Count != 50 {
		t.Fatalf("one writer: %+v %v", one, err)
	}
	b, err := CommitFloor(context.Background(), CommitOptions{Dir: t.TempDir(), Writers: 4, Records: 200, NoSync: true})
	// Four writers share commits of at most four records.
	if err != nil || b.Records != 200 || b.Commits < 50 || b.Commits > 200 || b.Writers != 4 {
		t.Fatalf("batched: %+v %v", b, err)
	}
	if _, err := CommitFloor(context.Background(), CommitOptions{Dir: t.TempDir(), Writers: 1}); err == nil {
		t.Fatal("an unbounded floor was accepted")
	}
}

func TestPacedOptions(t *testing.T) {
	base := Options{Command: BinaryCommander("chatbot"), WorkDir: "w", Users: 1, Chunks: 1}
	for _, c := range []struct {
		duration, paced time.Duration
		requests        int
		want            time.Duration
	}{
		{30 * time.Second, 0, 0, 20 * time.Second},
		{5 * time.Second, 0, 0, 5 * time.Second},
		{0, 0, 100, 20 * time.Second},
		{30 * time.Second, 3 * time.Second, 0, 3 * time.Second},
	} {
		o := base
		o.Duration, o.PacedDuration, o.Requests, o.PacedFraction = c.duration, c.paced, c.requests, 0.8
		if err := o.defaults(); err != nil || o.PacedDuration != c.want {
			t.Errorf("duration %v, paced %v, requests %d: paced duration %v (%v), want %v", c.duration, c.paced, c.requests, o.PacedDuration, err, c.want)
		}
	}
	for _, c := range []struct {
		fraction float64
		paced    time.Duration
		want     string
	}{{-0.1, 0, "paced fraction must be between 0"}, {2.5, 0, "paced fraction"}, {0.8, 21 * time.Second, "paced duration must be at most 20s"}} {
		o := base
		o.Duration, o.PacedFraction, o.PacedDuration = time.Second, c.fraction, c.paced
		if err := o.defaults(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("fraction %v, paced %v: %v, want %q", c.fraction, c.paced, err, c.want)
		}
	}
}

func TestSustainableRateIsWhatTheWholePipelineKeptUpWith(t *testing.T) {
	for _, c := range []struct{ answered, delivered, want float64 }{
		{1082, 750, 750}, // deliveries fell behind: their rate
		{600, 650, 600},  // deliveries kept up: the answers' rate
		{600, 0, 600},    // deliveries not measured
		{600, 600, 600},  // exactly kept up
	} {
		if got := sustainableRate(c.answered, c.delivered); got != c.want {
			t.Errorf("sustainableRate(%v, %v) = %v, want %v", c.answered, c.delivered, got, c.want)
		}
	}
}
