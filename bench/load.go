package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// LoadOptions bound a load run. It stops at the first of Duration and
// Requests; at least one of them must be set.
type LoadOptions struct {
	// Users is the number of concurrent simulated users, each with its own
	// keep-alive connection, sending its next request when the previous
	// answer arrives (closed loop).
	Users int
	// Duration bounds the run in time.
	Duration time.Duration
	// Requests bounds the run in count (over all users).
	Requests int
	// Rate, when positive, switches to an open loop: requests start at this
	// many per second, evenly spaced (Schedule), whatever the answers do,
	// each on a free user; when all Users are busy the request is counted in
	// Dropped (the client could not keep up), so the load offered is bounded.
	Rate float64
	// Timeout bounds one request (default 30s).
	Timeout time.Duration
}

// Request is what the driver sends; Build makes the i-th (0-based) request.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// Response is handed to the driver's callback for each answer.
type Response struct {
	Index   int
	Status  int
	Header  http.Header
	Body    []byte
	Latency time.Duration // from the send
	At      time.Time
	// Due is when the request was due: its slot in an open loop's schedule,
	// the send time in a closed loop. At − Due is the latency a user waiting
	// on the schedule sees, the tool's own delays included.
	Due time.Time
}

// LoadResult is what a run measured.
type LoadResult struct {
	Sent     int
	Elapsed  time.Duration
	Latency  Latency     // of answered requests, any status
	ByStatus map[int]int // answered requests by HTTP status
	// TransportErrors are requests with no HTTP answer (refused, reset,
	// timed out); Timeouts is the part of them that hit the timeout.
	TransportErrors int
	Timeouts        int
	// Dropped counts open-loop requests not sent because every user was busy.
	Dropped int
	// Late counts open-loop requests started more than defaultSlack after
	// their due time (the tool fell behind its schedule); MaxLate is the
	// worst such delay.
	Late    int
	MaxLate time.Duration
	// NoRetryAfter counts 429 and 503 answers without a Retry-After header.
	NoRetryAfter int
	FirstError   string
}

// RPS is answered requests per second of the run.
func (r LoadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	n := 0
	for _, c := range r.ByStatus {
		n += c
	}
	return float64(n) / r.Elapsed.Seconds()
}

// OK is the count of 2xx answers.
func (r LoadResult) OK() int {
	n := 0
	for s, c := range r.ByStatus {
		if s >= 200 && s < 300 {
			n += c
		}
	}
	return n
}

// Driver sends requests from concurrent users over HTTP keep-alive.
type Driver struct {
	opts   LoadOptions
	client *http.Client
	clock  clock // the open loop's schedule
}

// NewDriver checks the options and prepares a client with one idle
// keep-alive connection per user.
func NewDriver(opts LoadOptions) (*Driver, error) {
	if opts.Users <= 0 {
		return nil, fmt.Errorf("users must be positive, not %d", opts.Users)
	}
	if opts.Duration <= 0 && opts.Requests <= 0 {
		return nil, errors.New("a load run needs a duration or a request count to stop by itself")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        opts.Users,
		MaxIdleConnsPerHost: opts.Users,
		MaxConnsPerHost:     opts.Users,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &Driver{opts: opts, client: &http.Client{Transport: tr, Timeout: opts.Timeout}, clock: realClock{}}, nil
}

// Close drops the idle connections.
func (d *Driver) Close() { d.client.CloseIdleConnections() }

// RequireLoopback refuses any URL whose host is not a loopback address:
// load is only ever sent to this machine.
func RequireLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parse target %q: %w", raw, err)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("target %q is not a loopback address; the load tool only sends to this machine", raw)
	}
	return nil
}

// Run sends requests built by build until the duration or count is
// reached or ctx ends, calling onResponse (if not nil) for each answer from
// the user's goroutine. It returns what it measured.
func (d *Driver) Run(ctx context.Context, build func(i int) Request, onResponse func(Response)) (LoadResult, error) {
	probe := build(0)
	if err := RequireLoopback(probe.URL); err != nil {
		return LoadResult{}, err
	}
	if d.opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.opts.Duration)
		defer cancel()
	}
	var next atomic.Int64 // index of the next request
	take := func() (int, bool) {
		i := int(next.Add(1) - 1)
		if d.opts.Requests > 0 && i >= d.opts.Requests {
			return 0, false
		}
		return i, ctx.Err() == nil
	}
	users := make([]userStats, d.opts.Users)
	start := time.Now()
	var wg sync.WaitGroup
	var paced PaceStats
	if d.opts.Rate > 0 {
		paced = d.openLoop(ctx, build, onResponse, users)
	} else {
		for u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i, ok := take()
					if !ok {
						return
					}
					// A request sent before the end is waited for (up to the
					// timeout), so what the server accepted is what was counted.
					d.one(context.WithoutCancel(ctx), i, build(i), onResponse, &users[u], time.Time{})
				}
			}()
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	res := merge(users, elapsed)
	res.Dropped, res.Late, res.MaxLate = paced.NotSent, paced.Late, paced.MaxLate
	return res, nil
}

// openLoop starts requests on the schedule (pace); a request whose due time
// finds every user busy is dropped and counted, never queued without bound.
// It returns when every started request is answered.
func (d *Driver) openLoop(ctx context.Context, build func(int) Request, onResponse func(Response), users []userStats) PaceStats {
	free := make(chan int, len(users))
	for u := range users {
		free <- u
	}
	var wg sync.WaitGroup
	sched := Schedule{Rate: d.opts.Rate, Duration: d.opts.Duration, Count: d.opts.Requests, Slack: defaultSlack}
	st := pace(ctx, d.clock, sched, func(i int, due time.Time) bool {
		select {
		case u := <-free:
			wg.Add(1)
			go func() {
				defer wg.Done()
				// The request outlives the run's deadline: an accepted request
				// is waited for, up to the per-request timeout.
				d.one(context.WithoutCancel(ctx), i, build(i), onResponse, &users[u], due)
				free <- u
			}()
			return true
		default:
			return false
		}
	})
	wg.Wait()
	return st
}

type userStats struct {
	sent, transport, timeouts, noRetryAfter int
	lat                                     []time.Duration
	byStatus                                map[int]int
	firstErr                                string
}

func (d *Driver) one(ctx context.Context, i int, rq Request, onResponse func(Response), st *userStats, due time.Time) {
	st.sent++
	method := rq.Method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader = http.NoBody
	if rq.Body != nil {
		body = bytes.NewReader(rq.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rq.URL, body)
	if err != nil {
		st.transport++
		st.note(err)
		return
	}
	for k, v := range rq.Header {
		req.Header[k] = v
	}
	t0 := time.Now()
	if due.IsZero() {
		due = t0
	}
	resp, err := d.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			// The run ended while this request was in flight: not an error of
			// the server, and not a sample.
			st.sent--
			return
		}
		st.transport++
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			st.timeouts++
		}
		st.note(err)
		return
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	lat := time.Since(t0)
	if err != nil {
		st.transport++
		st.note(err)
		return
	}
	if st.byStatus == nil {
		st.byStatus = map[int]int{}
	}
	st.byStatus[resp.StatusCode]++
	st.lat = append(st.lat, lat)
	if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) &&
		resp.Header.Get("Retry-After") == "" {
		st.noRetryAfter++
	}
	if onResponse != nil {
		onResponse(Response{Index: i, Status: resp.StatusCode, Header: resp.Header, Body: data, Latency: lat, At: t0.Add(lat), Due: due})
	}
}

func (st *userStats) note(err error) {
	if st.firstErr == "" {
		st.firstErr = err.Error()
	}
}

func merge(users []userStats, elapsed time.Duration) LoadResult {
	r := LoadResult{Elapsed: elapsed, ByStatus: map[int]int{}}
	var all []time.Duration
	for _, u := range users {
		r.Sent += u.sent
		r.TransportErrors += u.transport
		r.Timeouts += u.timeouts
		r.NoRetryAfter += u.noRetryAfter
		if r.FirstError == "" {
			r.FirstError = u.firstErr
		}
		for s, c := range u.byStatus {
			r.ByStatus[s] += c
		}
		all = append(all, u.lat...)
	}
	r.Latency = Summarize(all)
	return r
}
