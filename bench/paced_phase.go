package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxPacedDuration bounds the paced phase: the lag settles within seconds,
// and the phase adds to every run.
const maxPacedDuration = 20 * time.Second

// pacedSlots bounds the paced phase's requests in flight: far above what
// the offered rate needs at any sane latency, so the tool only drops when
// the server stops answering, and bounded so the tool itself stays sane.
func pacedSlots(users int) int { return min(max(4*users, 256), 1024) }

// deliveryWriters is the server's default delivery pool
// (webhook.DefaultWorkers): the writers of the batched delivery floor.
const deliveryWriters = 64

// commitsMetric is the server's count of bbolt commits on /metrics.
const commitsMetric = "chatbot_store_commits_total"

// PacedReport is the open-loop phase at a fraction of the sustainable rate:
// does delivery keep up when the service is busy but not saturated?
type PacedReport struct {
	Fraction    float64 // of the sustainable rate
	Sustainable float64 // sustainableRate of the closed loop
	// LoopAnswered and LoopDelivered are the closed loop's answers and
	// deliveries received per second, whose lower one is Sustainable
	// (LoopDelivered 0: not known).
	LoopAnswered, LoopDelivered float64
	Rate                        float64    // offered requests per second
	Load                        LoadResult // Sent, Dropped (not sent: every slot busy), Late, Elapsed
	// Latency runs from each request's due time to its answer, so a tool
	// that falls behind its schedule cannot hide the server's slowness.
	Latency Latency
	// Produced is the answers of the phase that name a delivery;
	// ReceivedByEnd how many of those had reached the receiver when the
	// last answer arrived; Delivered how many in the end.
	Produced      int
	ReceivedByEnd int
	Delivered     int
	Lag           Latency       // answer at the tool -> delivery at the receiver
	Drain         time.Duration // from the last answer to the last delivery
	Commits       CommitCount   // from the phase's start to its last delivery
}

// Offered is the requests the schedule called for.
func (p *PacedReport) Offered() int { return p.Load.Sent + p.Load.Dropped }

// ProducedPerSecond is deliveries queued per second of the phase.
func (p *PacedReport) ProducedPerSecond() float64 { return perSecond(p.Produced, p.Load.Elapsed) }

// ReceivedPerSecond is the phase's deliveries received per second of it.
func (p *PacedReport) ReceivedPerSecond() float64 { return perSecond(p.ReceivedByEnd, p.Load.Elapsed) }

// Backlog is the deliveries produced but not yet received at the end.
func (p *PacedReport) Backlog() int { return p.Produced - p.ReceivedByEnd }

// CommitCount is the server's commits over a window, beside the work done.
type CommitCount struct {
	Known      bool // the server exposes chatbot_store_commits_total
	Commits    float64
	Deliveries int // received in the window
	Requests   int // answered 200 in the window
}

// PerDelivery is commits per delivery received in the window.
func (c CommitCount) PerDelivery() float64 { return per(c.Commits, c.Deliveries) }

// PerRequest is commits per answered request in the window.
func (c CommitCount) PerRequest() float64 { return per(c.Commits, c.Requests) }

func per(x float64, n int) float64 {
	if n <= 0 {
		return 0
	}
	return x / float64(n)
}

// commitMeter reads the server's commit counter at the ends of a window.
type commitMeter struct {
	url, token string
	client     *http.Client
}

func newCommitMeter(base, token string) commitMeter {
	return commitMeter{url: base + "/metrics", token: token, client: &http.Client{Timeout: 30 * time.Second}}
}

// read returns the counter, and false when the server does not expose it
// (an older binary) or cannot be read.
func (m commitMeter) read(ctx context.Context) (float64, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return 0, false
	}
	req.Header.Set("Authorization", "Bearer "+m.token)
	resp, err := m.client.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, false
	}
	return metricValue(body, commitsMetric)
}

// window counts commits from c0 (read at its start) to now.
func (m commitMeter) window(ctx context.Context, c0 float64, known bool, deliveries, requests int) CommitCount {
	c1, ok := m.read(ctx)
	if !known || !ok {
		return CommitCount{}
	}
	return CommitCount{Known: true, Commits: c1 - c0, Deliveries: deliveries, Requests: requests}
}

// metricValue finds the sample of an unlabelled metric in Prometheus' text
// format: the line "name value".
func metricValue(text []byte, name string) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+" ")
		if !ok {
			continue
		}
		fields := strings.Fields(rest) // value, then an optional timestamp
		if len(fields) == 0 {
			return 0, false
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		return v, err == nil
	}
	return 0, false
}

// paced offers Fraction x the load's rate on a fixed schedule for
// PacedDuration and measures the answers, the deliveries they produce and
// the commits that cost. The deliveries of earlier phases have drained.
func (rep *Report) paced(ctx context.Context, recv *Receiver, meter commitMeter, build func(int) Request,
	col *collector, say func(string, ...any)) *PacedReport {
	o := rep.Opts
	p := &PacedReport{Fraction: o.PacedFraction, Sustainable: sustainableRate(rep.Load.RPS(), rep.LoadDeliveredPS),
		LoopAnswered: rep.Load.RPS(), LoopDelivered: rep.LoadDeliveredPS}
	p.Rate = p.Fraction * p.Sustainable
	if p.Rate <= 0 {
		rep.note("paced phase not run: the load measured no sustainable rate")
		return nil
	}
	say("paced: %.0f requests/s offered (%.0f%% of %.0f) for %v", p.Rate, 100*p.Fraction, p.Sustainable, o.PacedDuration)
	d, err := NewDriver(LoadOptions{Users: pacedSlots(o.Users), Duration: o.PacedDuration, Requests: o.Requests, Rate: p.Rate})
	if err != nil {
		rep.note("paced phase: %v", err)
		return nil
	}
	defer d.Close()
	phase := newCollector()
	var mu sync.Mutex
	var fromDue []time.Duration
	c0, known := meter.read(ctx)
	p.Load, err = d.Run(ctx, build, func(r Response) {
		col.record(r)
		phase.record(r)
		mu.Lock()
		fromDue = append(fromDue, r.At.Sub(r.Due))
		mu.Unlock()
	})
	end := time.Now()
	if err != nil {
		rep.note("paced phase: %v", err)
		return nil
	}
	p.Latency = Summarize(fromDue)
	expected := phase.expected()
	p.Produced = len(expected)
	p.ReceivedByEnd = recv.ArrivedBy(expected, end)

	rep.waitDelivered(ctx, recv, col, "paced")
	st := recv.Stats(expected)
	p.Delivered, p.Lag = st.Matched, st.Lag
	if st.Matched > 0 {
		p.Drain = max(st.Last.Sub(end), 0)
	}
	p.Commits = meter.window(ctx, c0, known, st.Matched, p.Load.OK())
	return p
}

// String is the phase in one line, for the summary.
func (p *PacedReport) String() string {
	return fmt.Sprintf("paced at %.0f req/s (%.0f%% of %.0f): achieved %.0f; latency p99 %s; lag p50 %s p99 %s; produced %.0f/s, received %.0f/s, backlog %d at the end, drained in %.1f s",
		p.Rate, 100*p.Fraction, p.Sustainable, p.Load.RPS(), msStr(p.Latency.P99), msStr(p.Lag.P50), msStr(p.Lag.P99),
		p.ProducedPerSecond(), p.ReceivedPerSecond(), p.Backlog(), p.Drain.Seconds())
}

// sustainableRate is the rate the whole pipeline kept up with during the
// closed-loop load: the answers per second, or the deliveries received
// per second when those fell behind (a request rate whose answers pile up
// in the delivery queue is not sustained, however fast it is answered).
// delivered 0 means not measured.
func sustainableRate(answered, delivered float64) float64 {
	if delivered > 0 && delivered < answered {
		return delivered
	}
	return answered
}
