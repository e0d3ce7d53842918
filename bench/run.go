package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/chatbot/chatbot/client"
)

// Options configure a whole benchmark run.
type Options struct {
	Command       Commander     // runs the chatbot binary (ingest, serve)
	WorkDir       string        // holds the data directory and the generated documents
	Chunks        int           // knowledge-base size
	Users         int           // concurrent simulated users
	Duration      time.Duration // of the load phase (and of each floor)
	Requests      int           // or a request count instead of a duration
	Conversations int           // distinct conversations the users write in
	Seed          uint64
	Warmup        int // requests sent before measuring
	SearchQueries int // sequential knowledge searches through the API
	DeliveryWait  time.Duration
	// Overload runs a second phase at OverloadFactor times the measured
	// rate, open loop, for OverloadDuration.
	Overload         bool
	OverloadFactor   float64
	OverloadDuration time.Duration
	OllamaHost       string   // empty: the built-in answerer (--llm none)
	ServeArgs        []string // extra flags for serve
	CPUProfile       string   // server CPU profile, when serve supports it
	MemProfile       string   // server heap profile, when serve supports it
	Progress         io.Writer
	ServerLog        io.Writer

	// PacedFraction of the measured rate is offered open loop, on a fixed
	// schedule, for PacedDuration after the load (0: no paced phase): the
	// delivery lag and drain at a load the service sustains.
	PacedFraction float64
	PacedDuration time.Duration
}

func (o *Options) defaults() error {
	if o.Command == nil || o.WorkDir == "" {
		return errors.New("bench needs a chatbot binary and a work directory")
	}
	if o.Users <= 0 {
		return fmt.Errorf("users must be positive, not %d", o.Users)
	}
	if o.Duration <= 0 && o.Requests <= 0 {
		return errors.New("set a duration or a request count")
	}
	if o.Chunks <= 0 {
		return fmt.Errorf("chunks must be positive, not %d", o.Chunks)
	}
	if o.Conversations <= 0 {
		o.Conversations = o.Users * 4
	}
	if o.DeliveryWait <= 0 {
		o.DeliveryWait = 2 * time.Minute
	}
	if o.OverloadFactor <= 0 {
		o.OverloadFactor = 10
	}
	if o.OverloadDuration <= 0 {
		o.OverloadDuration = 10 * time.Second
	}
	if o.PacedFraction < 0 || o.PacedFraction > 2 {
		return fmt.Errorf("paced fraction must be between 0 (no paced phase) and 2, not %v", o.PacedFraction)
	}
	if o.PacedDuration > maxPacedDuration {
		return fmt.Errorf("paced duration must be at most %v, not %v", maxPacedDuration, o.PacedDuration)
	}
	if o.PacedDuration <= 0 {
		o.PacedDuration = maxPacedDuration
		if o.Duration > 0 {
			o.PacedDuration = min(o.Duration, maxPacedDuration)
		}
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.ServerLog == nil {
		o.ServerLog = io.Discard
	}
	return nil
}

// Report is everything one run measured.
type Report struct {
	Opts    Options
	At      time.Time
	KB      KBInfo
	Ingest  time.Duration
	Startup time.Duration // exec to healthy, with the index on disk

	HTTPFloor       LoadResult // same users and duration as the load
	HTTPFloorSingle LoadResult // one user, sequential
	Storage         StorageResult
	StorageSingle   StorageResult // one writer
	StorageBatch    StorageResult
	Retrieval       RetrievalResult
	// The delivery floor: one writer committing one small record per
	// transaction, and deliveryWriters sharing commits.
	DeliveryFloor      CommitResult
	DeliveryFloorBatch CommitResult

	Search Latency // POST /api/knowledge/search, one user
	// Recall is the vector search's recall, when the caller measured it
	// after the run (DataDir).
	Recall *RecallResult

	Single        LoadResult // one user, sequential: latency without queueing
	Load          LoadResult
	ResponseTypes map[string]int
	AnswerMS      Latency // the service's own answer time (latency_ms of the single user's answers)
	// LoadDeliveredPS is how many of the load's answers reached the
	// receiver per second while the load ran (its backlog grew when this
	// was below the request rate).
	LoadDeliveredPS float64
	CPU             time.Duration // server CPU during the load
	ClientCPU       time.Duration // this process's CPU during the load (it shares the cores)
	ProcIdle        ProcStats     // after start-up, before load
	ProcAfter       ProcStats     // after the load phase (Peak is the high-water mark)

	Expected   int // answers that name an outgoing message to deliver
	Deliveries ReceiverStats
	Drain      time.Duration // from the end of load to the last expected delivery
	Accepted   int           // distinct incoming messages answered 200
	Stored     int           // incoming messages the server lists, -1 when unknown

	// DrainCommits are the server's commits while the load's backlog
	// drained: deliveries only, no incoming requests.
	DrainCommits CommitCount
	// SingleCommits are the server's commits during the one-user phase
	// and its deliveries: one request in flight at a time, so few commits
	// are shared (a delivery may still share one with the next request).
	SingleCommits CommitCount
	Paced         *PacedReport

	Overload *OverloadReport

	DBIdle      int64 // bbolt file before any message (the knowledge base)
	DBSize      int64 // and at the end
	Shutdown    time.Duration
	ShutdownErr string
	Notes       []string
}

// OverloadReport is the overload phase.
type OverloadReport struct {
	Rate      float64
	Load      LoadResult
	ProcAfter ProcStats
	Alive     bool
}

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Run performs a whole benchmark: floors, knowledge base, server, load,
// deliveries, optional overload, shutdown.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	rep := &Report{Opts: o, At: time.Now().UTC(), Stored: -1}
	say := func(format string, args ...any) { fmt.Fprintf(o.Progress, format+"\n", args...) }
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	payloads := Payloads{Run: run, Conversations: o.Conversations, Questions: NewQuestions(o.Seed)}

	// Floors first, alone on the machine.
	say("floors: HTTP (%d users), storage, retrieval over %d vectors", o.Users, o.Chunks)
	if err := rep.floors(ctx, payloads); err != nil {
		return rep, err
	}

	kbDir := filepath.Join(o.WorkDir, "kb")
	dataDir := rep.DataDir()
	info, err := GenerateKB(kbDir, o.Chunks, o.Seed)
	if err != nil {
		return rep, err
	}
	rep.KB = info
	token := "bench-admin-" + run
	env := []string{"CHATBOT_ADMIN_TOKEN=" + token, "CHATBOT_DATA_DIR=" + dataDir}
	if o.OllamaHost != "" {
		env = append(env, "OLLAMA_HOST="+o.OllamaHost)
	}
	if HasCommand(o.Command, "ingest") {
		say("ingest: %d chunks in %d files", info.Chunks, info.Files)
		args := []string{"ingest", "--data-dir", dataDir, kbDir}
		if o.OllamaHost == "" {
			args = append(args, "--embedder", "builtin")
		}
		t0 := time.Now()
		cmd := withEnv(o.Command(args...), env...)
		cmd.Stdout, cmd.Stderr = o.ServerLog, o.ServerLog
		if err := cmd.Run(); err != nil {
			return rep, fmt.Errorf("chatbot ingest: %w", err)
		}
		rep.Ingest = time.Since(t0)
	} else {
		rep.note("this binary has no ingest command: the knowledge base was not loaded")
	}

	has, err := HasFlags(o.Command, "serve", "llm", "allow-outgoing", "cpuprofile", "memprofile", "rate-per-minute")
	if err != nil {
		return rep, err
	}
	var args []string
	if has["llm"] && o.OllamaHost == "" {
		args = append(args, "--llm", "none")
	} else if o.OllamaHost == "" {
		rep.note("serve has no --llm flag: the answerer is whatever serve uses by default")
	}
	if has["allow-outgoing"] {
		args = append(args, "--allow-outgoing", "127.0.0.0/8")
	}
	if has["rate-per-minute"] {
		// The per-platform rate limit (100 a minute by default) would turn
		// the load into 429s: the bench measures capacity, so it lifts it.
		args = append(args, "--rate-per-minute", "100000000")
	}
	if o.CPUProfile != "" && has["cpuprofile"] {
		args = append(args, "--cpuprofile", o.CPUProfile)
	}
	if o.MemProfile != "" && has["memprofile"] {
		args = append(args, "--memprofile", o.MemProfile)
	}
	args = append(args, o.ServeArgs...)
	recv, err := NewReceiver()
	if err != nil {
		return rep, err
	}
	defer recv.Close()

	say("serve: starting")
	svc, err := StartService(ctx, ServiceOptions{Command: o.Command, DataDir: dataDir, Env: env, Args: args, Log: o.ServerLog})
	if err != nil {
		return rep, err
	}
	defer svc.Kill()
	rep.Startup = svc.Started
	api := client.New(svc.Base(), token)
	cfg, err := createConfig(ctx, api, recv.URL(), run)
	if err != nil {
		return rep, err
	}
	payloads.Platform = cfg.Provider
	rep.ProcIdle, _ = ReadProc(svc.PID())
	rep.DBIdle = FileSize(filepath.Join(dataDir, "chatbot.db"))

	incoming := func(p Payloads) func(i int) Request {
		h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + cfg.IncomingToken}}
		return func(i int) Request {
			return Request{URL: svc.Base() + "/api/webhook/incoming", Header: h, Body: p.At(i)}
		}
	}
	col := newCollector()
	if o.Warmup > 0 {
		say("warm-up: %d requests", o.Warmup)
		wp := payloads
		wp.Run = run + "w"
		d, err := NewDriver(LoadOptions{Users: o.Users, Requests: o.Warmup})
		if err != nil {
			return rep, err
		}
		wres, _ := d.Run(ctx, incoming(wp), col.record)
		d.Close()
		if wres.OK() == 0 {
			rep.note("warm-up: no incoming webhook succeeded (%s%s); the load was not run", statuses(wres), wres.FirstError)
			return rep.finish(ctx, svc, api, dataDir, say), nil
		}
	}

	// The one user runs alone: the warm-up's deliveries have drained, and
	// the commits of its requests and their deliveries are its own.
	meter := newCommitMeter(svc.Base(), token)
	rep.waitDelivered(ctx, recv, col, "warm-up")
	// Searches one at a time, after the warm-up like every other latency
	// here: right after start-up they also timed the first touch of the
	// search's score arrays and the collector settling after the load
	// (at a million chunks p99 40 ms then, 22-25 ms on an idle server).
	rep.Search = measureSearch(ctx, api, payloads.Questions, o.SearchQueries, rep)
	single := o.singleRequests()
	say("single user: %d requests one at a time", single)
	d1, err := NewDriver(LoadOptions{Users: 1, Requests: single})
	if err != nil {
		return rep, err
	}
	sp := payloads
	sp.Run = run + "s"
	c0, known := meter.read(ctx)
	received0 := recv.Unique()
	var timing answerTiming
	rep.Single, _ = d1.Run(ctx, incoming(sp), func(r Response) { col.record(r); timing.add(r.Header) })
	d1.Close()
	rep.waitDelivered(ctx, recv, col, "one user")
	rep.SingleCommits = meter.window(ctx, c0, known, recv.Unique()-received0, rep.Single.OK())
	rep.AnswerMS = answerTimes(ctx, api)
	if t := timing.latency(); t.Count > 0 {
		rep.AnswerMS = t // to the microsecond, from Server-Timing (older servers: latency_ms)
	}

	say("load: %d users for %v", o.Users, o.Duration)
	d, err := NewDriver(LoadOptions{Users: o.Users, Duration: o.Duration, Requests: o.Requests})
	if err != nil {
		return rep, err
	}
	before, _ := ReadProc(svc.PID())
	self0, _ := ReadProc(os.Getpid())
	loadCol := newCollector()
	rep.Load, err = d.Run(ctx, incoming(payloads), func(r Response) { col.record(r); loadCol.record(r) })
	d.Close()
	if err != nil {
		return rep, err
	}
	loadEnd := time.Now()
	if rep.Load.Elapsed > 0 {
		rep.LoadDeliveredPS = float64(recv.ArrivedBy(loadCol.expected(), loadEnd)) / rep.Load.Elapsed.Seconds()
	}
	after, _ := ReadProc(svc.PID())
	self1, _ := ReadProc(os.Getpid())
	rep.CPU = after.CPU - before.CPU
	rep.ClientCPU = self1.CPU - self0.CPU
	rep.ProcAfter = after
	rep.ResponseTypes = loadCol.types()

	// The load's backlog drains before anything else runs: the time it
	// takes, and the commits it costs with no incoming request beside it.
	c0, known = meter.read(ctx)
	received0 = recv.Unique()
	say("deliveries: waiting for the load's %d", len(col.expected()))
	rep.waitDelivered(ctx, recv, col, "load")
	rep.Drain = time.Since(loadEnd)
	rep.DrainCommits = meter.window(ctx, c0, known, recv.Unique()-received0, 0)

	if o.PacedFraction > 0 {
		pp := payloads
		pp.Run += "p"
		rep.Paced = rep.paced(ctx, recv, meter, incoming(pp), col, say)
	}
	if o.Overload {
		rep.Overload = rep.overload(ctx, svc, incoming, payloads, col, say)
	}

	expected := col.expected()
	rep.Expected = len(expected)
	rep.Accepted = col.accepted()
	say("deliveries: waiting for %d", rep.Expected)
	wctx, cancel := context.WithTimeout(ctx, o.DeliveryWait)
	if err := recv.WaitFor(wctx, rep.Expected); err != nil {
		rep.note("%v", err)
	}
	cancel()
	rep.Deliveries = recv.Stats(expected)

	rep.Stored = countMessages(ctx, api, "incoming", rep)
	return rep.finish(ctx, svc, api, dataDir, say), nil
}

// DataDir is the server's data directory: the knowledge base the run
// ingested, there after Run returns when the work directory is kept.
func (r *Report) DataDir() string { return filepath.Join(r.Opts.WorkDir, "data") }

// waitDelivered waits up to DeliveryWait for every delivery the collector
// expects so far, and notes when they did not all come.
func (rep *Report) waitDelivered(ctx context.Context, recv *Receiver, col *collector, phase string) {
	wctx, cancel := context.WithTimeout(ctx, rep.Opts.DeliveryWait)
	defer cancel()
	if err := recv.WaitFor(wctx, len(col.expected())); err != nil {
		rep.note("after the %s phase: %v", phase, err)
	}
}

// finish records the file size and memory, and stops the server.
func (rep *Report) finish(ctx context.Context, svc *Service, api *client.Client, dataDir string, say func(string, ...any)) *Report {
	rep.DBSize = FileSize(filepath.Join(dataDir, "chatbot.db"))
	if p, err := ReadProc(svc.PID()); err == nil {
		rep.ProcAfter = p
	}
	say("shutdown")
	var err error
	rep.Shutdown, err = svc.Stop(30 * time.Second)
	if err != nil {
		rep.ShutdownErr = err.Error()
	}
	return rep
}

func (rep *Report) floors(ctx context.Context, payloads Payloads) error {
	o := rep.Opts
	f, err := StartHTTPFloor()
	if err != nil {
		return err
	}
	defer f.Close()
	build := func(i int) Request {
		return Request{URL: f.URL(), Header: http.Header{"Content-Type": {"application/json"}}, Body: payloads.At(i)}
	}
	// Floors are steady within seconds: each runs at most maxFloorTime.
	floorTime := min(o.Duration, maxFloorTime)
	d, err := NewDriver(LoadOptions{Users: o.Users, Duration: floorTime, Requests: o.Requests})
	if err != nil {
		return err
	}
	rep.HTTPFloor, _ = d.Run(ctx, build, nil)
	d.Close()
	single := o.singleRequests()
	d, _ = NewDriver(LoadOptions{Users: 1, Requests: single})
	rep.HTTPFloorSingle, _ = d.Run(ctx, build, nil)
	d.Close()

	dir, err := os.MkdirTemp(o.WorkDir, "floor-")
	if err != nil {
		return fmt.Errorf("storage floor directory: %w", err)
	}
	defer os.RemoveAll(dir)
	so := StorageOptions{Dir: dir, Users: o.Users, Requests: o.Requests, Duration: floorTime}
	if rep.Storage, err = StorageFloor(ctx, so, payloads); err != nil {
		return fmt.Errorf("storage floor: %w", err)
	}
	one := StorageOptions{Dir: filepath.Join(dir, "single"), Users: 1, Requests: single}
	_ = os.MkdirAll(one.Dir, 0o700)
	if rep.StorageSingle, err = StorageFloor(ctx, one, payloads); err != nil {
		return fmt.Errorf("storage floor (one writer): %w", err)
	}
	so.Dir, so.Batch = filepath.Join(dir, "batch"), true
	_ = os.MkdirAll(so.Dir, 0o700)
	if rep.StorageBatch, err = StorageFloor(ctx, so, payloads); err != nil {
		return fmt.Errorf("storage floor (batched): %w", err)
	}
	co := CommitOptions{Dir: filepath.Join(dir, "commit"), Writers: 1, Records: o.Requests, Duration: min(floorTime, maxCommitFloorTime)}
	_ = os.MkdirAll(co.Dir, 0o700)
	if rep.DeliveryFloor, err = CommitFloor(ctx, co); err != nil {
		return fmt.Errorf("delivery floor: %w", err)
	}
	co.Dir, co.Writers = filepath.Join(dir, "commit-batch"), deliveryWriters
	_ = os.MkdirAll(co.Dir, 0o700)
	if rep.DeliveryFloorBatch, err = CommitFloor(ctx, co); err != nil {
		return fmt.Errorf("delivery floor (batched): %w", err)
	}
	rep.Retrieval = RetrievalFloor(o.Chunks, BuiltinDim, max(o.SearchQueries, 50), 5, o.Seed)
	return nil
}

// maxCommitFloorTime bounds each delivery floor: a commit rate is steady
// within seconds.
const maxCommitFloorTime = 5 * time.Second

// singleRequests is the size of the one-user phases: as many as the
// search queries (100 when searches are skipped).
func (o Options) singleRequests() int {
	if o.SearchQueries > 0 {
		return o.SearchQueries
	}
	return 100
}

// maxFloorTime bounds each floor measurement.
const maxFloorTime = 10 * time.Second

// BuiltinDim is the dimension of the built-in embedder's vectors.
const BuiltinDim = 512

func (rep *Report) overload(ctx context.Context, svc *Service, incoming func(Payloads) func(int) Request,
	payloads Payloads, col *collector, say func(string, ...any)) *OverloadReport {
	o := rep.Opts
	rate := max(rep.Load.RPS()*o.OverloadFactor, 100)
	say("overload: %.0f requests/s offered for %v", rate, o.OverloadDuration)
	op := payloads
	op.Run += "o"
	users := min(max(o.Users*int(o.OverloadFactor+0.999), 256), 2048)
	d, err := NewDriver(LoadOptions{Users: users, Duration: o.OverloadDuration, Rate: rate, Timeout: 10 * time.Second})
	if err != nil {
		rep.note("overload: %v", err)
		return nil
	}
	defer d.Close()
	res, _ := d.Run(ctx, incoming(op), col.record)
	proc, _ := ReadProc(svc.PID())
	return &OverloadReport{Rate: rate, Load: res, ProcAfter: proc, Alive: svc.Alive()}
}

// createConfig makes the webhook config whose outgoing URL is the receiver.
func createConfig(ctx context.Context, api *client.Client, url, run string) (client.ConfigView, error) {
	name, provider, active, retries, timeout := "bench "+run, "bench", true, 3, 10
	cfg, err := api.CreateConfig(ctx, client.ConfigInput{Name: &name, Provider: &provider, OutgoingURL: &url,
		IsActive: &active, RetryAttempts: &retries, TimeoutSeconds: &timeout})
	if err != nil {
		return cfg, fmt.Errorf("create the webhook config: %w", err)
	}
	if cfg.IncomingToken == "" {
		return cfg, errors.New("create the webhook config: no incoming token in the answer")
	}
	return cfg, nil
}

func measureSearch(ctx context.Context, api *client.Client, q Questions, n int, rep *Report) Latency {
	if n <= 0 {
		return Latency{}
	}
	lats := make([]time.Duration, 0, n)
	for i := range n {
		t0 := time.Now()
		err := api.Do(ctx, http.MethodPost, "/api/knowledge/search", map[string]any{"query": q.At(i), "k": 5}, nil)
		if err != nil {
			rep.note("knowledge search through the API not measured: %v", err)
			return Latency{}
		}
		lats = append(lats, time.Since(t0))
	}
	return Summarize(lats)
}

// countMessages asks the server how many messages of a type it stored.
func countMessages(ctx context.Context, api *client.Client, typ string, rep *Report) int {
	var out struct {
		Total int `json:"total"`
	}
	if err := api.Do(ctx, http.MethodGet, "/api/webhook/messages?per_page=1&message_type="+typ, nil, &out); err != nil {
		rep.note("stored messages not counted: %v", err)
		return -1
	}
	return out.Total
}

// answerTimes reads the answer time the service recorded on the newest
// outgoing messages.
func answerTimes(ctx context.Context, api *client.Client) Latency {
	var out struct {
		Messages []struct {
			LatencyMS *int64 `json:"latency_ms"`
		} `json:"messages"`
	}
	if api.Do(ctx, http.MethodGet, "/api/webhook/messages?per_page=100&message_type=outgoing", nil, &out) != nil {
		return Latency{}
	}
	var lats []time.Duration
	for _, m := range out.Messages {
		if m.LatencyMS != nil {
			lats = append(lats, time.Duration(*m.LatencyMS)*time.Millisecond)
		}
	}
	return Summarize(lats)
}

// collector gathers the answers of the incoming webhook across phases.
type collector struct {
	mu       sync.Mutex
	answered map[uint64]time.Time // outgoing message id -> when the answer arrived
	incoming map[uint64]struct{}
	byType   map[string]int
}

func newCollector() *collector {
	return &collector{answered: map[uint64]time.Time{}, incoming: map[uint64]struct{}{}, byType: map[string]int{}}
}

func (c *collector) record(r Response) {
	if r.Status != http.StatusOK {
		return
	}
	var rep IncomingReply
	if json.Unmarshal(r.Body, &rep) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byType[rep.Response.ResponseType]++
	if rep.MessageID != 0 {
		c.incoming[rep.MessageID] = struct{}{}
	}
	if rep.ResponseID != 0 && rep.Response.ResponseType != "live_chat_message" {
		c.answered[rep.ResponseID] = r.At
	}
}

func (c *collector) expected() map[uint64]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[uint64]time.Time, len(c.answered))
	for k, v := range c.answered {
		out[k] = v
	}
	return out
}

func (c *collector) accepted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.incoming)
}

func (c *collector) types() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.byType {
		out[k] = v
	}
	return out
}

// sortedStatuses lists the statuses of m in order.
func sortedStatuses(m map[int]int) []int {
	out := make([]int, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}
