package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatbot/chatbot/store"
)

// DefaultWorkers is the default delivery pool. A delivery holds its worker
// for the platform's round trip (often 100-500 ms) and a commit, so a
// small pool cannot keep up with even modest traffic: with 4, the answers
// of chatbot bench's 228 req/s reached the receiver 22 s late (p50); with
// 16, a closed loop of 64 users answered 1,082 req/s and delivered about
// 420-650/s, the backlog growing by the second. 64, as many as the answer
// slots of the incoming webhook, delivered as fast as it answered (1,108
// req/s, lag p99 33 ms): the workers wait, they do not compute.
const DefaultWorkers = 64

// WorkerOptions tune a Worker. Zero fields take the defaults.
type WorkerOptions struct {
	Workers      int               // parallel deliveries (default DefaultWorkers)
	Retry        store.RetryPolicy // backoff between attempts (default base 1s, cap 10m)
	PollInterval time.Duration     // longest sleep without a wake-up (default 1s)
	// A config whose deliveries failed CircuitThreshold times in a row
	// (default 5) is held: one probe per cooldown, which starts at
	// CircuitCooldown (default 30s, never more than Retry.Cap) and doubles
	// after each failed probe up to CircuitMaxCooldown (default 10m).
	// Other configs keep flowing.
	CircuitThreshold   int
	CircuitCooldown    time.Duration
	CircuitMaxCooldown time.Duration
	// OnAttempt, when set, is called after each recorded attempt.
	OnAttempt func(AttemptReport)
	// Native sends the messages of native integrations through their
	// platform's reply API (platform.Senders); without it they fail.
	Native NativeSender
}

// AttemptReport describes one recorded delivery attempt.
type AttemptReport struct {
	MessageID uint64
	ConfigID  uint64
	WebhookID string
	Result    Result
	Outcome   store.DeliveryOutcome
}

// Worker delivers the queued outgoing messages: a dispatcher claims due
// jobs from the store (the durable queue) and a fixed pool sends them.
// Run starts it; Stop ends it, waiting a bounded time for in-flight sends.
type Worker struct {
	store  *store.Store
	sender *Sender
	log    *slog.Logger
	opts   WorkerOptions
	cb     *circuit

	notify chan struct{}
	work   chan store.Delivery
	done   chan struct{}

	// retries counts failed attempts that left their job queued for
	// another attempt (Retries).
	retries atomic.Uint64

	mu         sync.Mutex
	started    bool
	stopOnce   sync.Once
	cancel     context.CancelFunc // stops the dispatcher
	sendCtx    context.Context    // in-flight sends; cancelled when Stop runs out of time
	sendCancel context.CancelFunc
	wg         sync.WaitGroup
	finished   chan struct{}
}

// NewWorker returns a stopped worker.
func NewWorker(st *store.Store, sender *Sender, log *slog.Logger, opts WorkerOptions) *Worker {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Retry.Base <= 0 {
		opts.Retry.Base = time.Second
	}
	if opts.Retry.Cap < opts.Retry.Base {
		opts.Retry.Cap = max(10*time.Minute, opts.Retry.Base)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.CircuitThreshold <= 0 {
		opts.CircuitThreshold = 5
	}
	if opts.CircuitCooldown <= 0 {
		opts.CircuitCooldown = 30 * time.Second
	}
	if opts.CircuitMaxCooldown < opts.CircuitCooldown {
		opts.CircuitMaxCooldown = max(10*time.Minute, opts.CircuitCooldown)
	}
	return &Worker{
		store: st, sender: sender, log: log, opts: opts,
		// An operator who capped retries at 2 s expects a platform that is
		// back to get its messages within seconds, not after 30.
		cb:       newCircuit(opts.CircuitThreshold, min(opts.CircuitCooldown, opts.Retry.Cap), opts.CircuitMaxCooldown),
		notify:   make(chan struct{}, 1),
		work:     make(chan store.Delivery, 2*opts.Workers),
		done:     make(chan struct{}, 2*opts.Workers),
		finished: make(chan struct{}),
	}
}

// Retries is how many failed attempts since start were scheduled to be
// tried again (a job delivered at its third attempt counts two).
func (w *Worker) Retries() uint64 { return w.retries.Load() }

// Notify wakes the dispatcher. It never blocks. Writers need not call it:
// Run registers it with the store, which calls it after every commit that
// queued a delivery job. The worker itself uses it when jobs held by a
// circuit breaker are released (that queues nothing new).
func (w *Worker) Notify() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// Run puts every queued job back on schedule (jobs in flight when the
// process stopped are attempted again), starts the pool and returns. The
// worker runs until ctx ends or Stop is called.
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errors.New("delivery worker already started")
	}
	n, err := w.store.RecoverDeliveries()
	if err != nil {
		return err
	}
	w.started = true
	w.store.OnDeliveryQueued(w.Notify) // any writer's queued job wakes the dispatcher
	if n > 0 {
		w.log.Info("delivery queue recovered", "pending", n)
	}
	dctx, cancel := context.WithCancel(ctx)
	w.cancel = cancel
	w.sendCtx, w.sendCancel = context.WithCancel(context.WithoutCancel(ctx))
	w.wg.Add(1 + w.opts.Workers)
	go w.dispatch(dctx)
	for range w.opts.Workers {
		go w.deliverLoop()
	}
	go func() { w.wg.Wait(); close(w.finished) }()
	return nil
}

// Stop stops claiming jobs and waits for in-flight deliveries until ctx
// ends; then it cancels them (they stay queued and are attempted again at
// the next start) and returns ctx's error. It may be called more than once.
func (w *Worker) Stop(ctx context.Context) error {
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	if !started {
		return nil
	}
	w.stopOnce.Do(w.cancel)
	select {
	case <-w.finished:
		w.sender.Close()
		return nil
	case <-ctx.Done():
	}
	w.sendCancel()
	<-w.finished // cancelled sends return promptly
	w.sender.Close()
	return fmt.Errorf("delivery worker: in-flight deliveries cut short: %w", ctx.Err())
}

func (w *Worker) dispatch(ctx context.Context) {
	defer w.wg.Done()
	defer close(w.work)
	inflight := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	var failing storeBackoff // claims failing on storage: wait longer each time
	for {
		func() {
			defer w.recoverPanic("dispatcher")
			if wait := failing.remaining(time.Now()); wait > 0 {
				timer.Reset(wait) // woken early (a notify, a finished send): keep backing off
				return
			}
			// Claim up to twice the pool: a worker that finishes finds its
			// next job queued instead of waiting for the dispatcher's claim
			// commit. Sends stay bounded by the Workers goroutines.
			if free := 2*w.opts.Workers - inflight; free > 0 {
				claimed, err := w.store.ClaimDeliveries(w.store.Now(), free, w.cb.hold)
				if err != nil {
					// The due index may still say "due now" (a damaged page
					// elsewhere): without a back-off this loop spun at full
					// CPU, logging tens of thousands of lines a second.
					wait := failing.fail(time.Now())
					w.log.Error("claiming deliveries failed; backing off", "err", err,
						"retry_in", wait.String(), "consecutive_failures", failing.failures)
					timer.Reset(wait)
					return
				}
				if failing.failures > 0 {
					w.log.Info("claiming deliveries works again", "after_failures", failing.failures)
					failing = storeBackoff{}
				}
				for _, d := range claimed {
					inflight++
					w.work <- d // buffered to 2*Workers; inflight never exceeds it
				}
			}
			wait := w.opts.PollInterval
			if inflight < 2*w.opts.Workers {
				if next, ok, err := w.store.NextDeliveryDue(); err == nil && ok {
					wait = min(wait, max(next.Sub(w.store.Now()), 0))
				}
			}
			timer.Reset(wait)
		}()
		select {
		case <-ctx.Done():
			return
		case <-w.notify:
		case <-timer.C:
		case <-w.done:
			inflight--
		}
	drain:
		for {
			select {
			case <-w.done:
				inflight--
			default:
				break drain
			}
		}
	}
}

func (w *Worker) deliverLoop() {
	defer w.wg.Done()
	for d := range w.work {
		w.deliverOne(d)
		w.done <- struct{}{}
	}
}

func (w *Worker) recoverPanic(where string) {
	if p := recover(); p != nil {
		w.log.Error("panic in delivery worker", "where", where, "panic", p)
	}
}

func (w *Worker) deliverOne(d store.Delivery) {
	id := d.Job.MessageID
	recorded := false
	defer func() {
		if p := recover(); p != nil {
			w.log.Error("panic in delivery worker", "message_id", id, "panic", p)
			if recorded {
				return
			}
			// Put the job back on schedule instead of leaving it in flight
			// until the next start.
			if _, err := w.store.RecordDeliveryAttempt(id, store.DeliveryAttempt{
				Err: "internal error while delivering; the server log has details", MaxAttempts: DefaultRetryAttempts + 1,
			}, w.opts.Retry); err != nil {
				w.log.Error("recording a delivery attempt failed", "message_id", id, "err", err)
			}
		}
	}()
	res, maxAttempts := w.attempt(d)
	if w.sendCtx.Err() != nil {
		// Shutting down mid-send: leave the job in flight; the next start
		// attempts it again (receivers dedupe on webhook-id).
		return
	}
	out, err := w.store.RecordDeliveryAttempt(id, store.DeliveryAttempt{
		OK: res.OK(), StatusCode: res.StatusCode, Err: errText(res.Err), Latency: res.Duration,
		RetryAfter: res.RetryAfter, Permanent: res.Permanent, MaxAttempts: maxAttempts,
	}, w.opts.Retry)
	recorded = true
	if errors.Is(err, store.ErrNotFound) {
		// Its integration was deleted while it was in flight: the message
		// is already failed ("integration deleted").
		w.log.Info("delivery attempt not recorded: its job is gone", "message_id", id, "config_id", d.Job.ConfigID)
		return
	}
	if err != nil {
		w.log.Error("recording a delivery attempt failed", "message_id", id, "err", err)
		return
	}
	if !res.OK() && out.Status == store.StatusPending {
		w.retries.Add(1)
	}
	if res.StatusCode != 0 || !res.Permanent {
		w.recordCircuit(d.Job, res.OK())
	}
	level := slog.LevelDebug
	if out.Status == store.StatusFailed {
		level = slog.LevelWarn
	}
	w.log.Log(context.Background(), level, "delivery attempt", "message_id", id, "config_id", d.Job.ConfigID,
		"webhook_id", d.Job.WebhookID, "attempt", out.Attempt, "http_status", res.StatusCode,
		"duration_ms", res.Duration.Milliseconds(), "status", out.Status, "err", errText(res.Err))
	if w.opts.OnAttempt != nil {
		w.opts.OnAttempt(AttemptReport{MessageID: id, ConfigID: d.Job.ConfigID, WebhookID: d.Job.WebhookID, Result: res, Outcome: out})
	}
}

// attempt sends d once; it returns the result and the number of attempts
// the job may have in all.
func (w *Worker) attempt(d store.Delivery) (Result, int) {
	cfg, err := w.store.Config(d.Job.ConfigID)
	if errors.Is(err, store.ErrNotFound) {
		return Result{Err: fmt.Errorf("webhook config %d was deleted while the message waited; nothing to deliver to", d.Job.ConfigID), Permanent: true}, 1
	}
	if err != nil {
		return Result{Err: fmt.Errorf("load webhook config %d: %w", d.Job.ConfigID, err)}, DefaultRetryAttempts + 1
	}
	maxAttempts := cfg.RetryAttempts + 1
	if !cfg.IsActive {
		return Result{Err: fmt.Errorf("webhook config %q is inactive; activate it and redeliver", cfg.Name), Permanent: true}, maxAttempts
	}
	if cfg.Native() {
		if w.opts.Native == nil {
			return Result{Err: fmt.Errorf("webhook config %q is a native %s integration but this server has no native adapters", cfg.Name, cfg.Provider), Permanent: true}, maxAttempts
		}
		return w.opts.Native.SendNative(w.sendCtx, cfg, &d.Message), maxAttempts
	}
	body, err := encodePayload(PayloadOf(&d.Message, w.repliedTo(&d.Message)))
	if err != nil {
		return Result{Err: fmt.Errorf("encode payload: %w", err), Permanent: true}, maxAttempts
	}
	return w.sender.Send(w.sendCtx, cfg, d.Job.WebhookID, body), maxAttempts
}

// repliedTo returns the platform's id of the user message m answers, ""
// when it answers none or that message is gone (the reply is still worth
// delivering without it).
func (w *Worker) repliedTo(m *store.Message) string {
	if m.ReplyTo == 0 {
		return ""
	}
	in, err := w.store.Message(m.ReplyTo)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			w.log.Warn("reading the message a delivery replies to failed; delivering without platform_message_id",
				"message_id", m.ID, "reply_to", m.ReplyTo, "err", err)
		}
		return ""
	}
	return in.PlatformMessageID
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// recordCircuit feeds an attempt's result to the circuit breaker. When a
// success closes it, the jobs it held back are made due at once instead of
// waiting out a cooldown the platform no longer needs.
func (w *Worker) recordCircuit(job store.DeliveryJob, ok bool) {
	now := w.store.Now()
	opened, released := w.cb.record(job.ConfigID, job.MessageID, ok, now)
	if opened {
		w.log.Warn("deliveries to a platform keep failing; slowing down", "config_id", job.ConfigID,
			"consecutive_failures", w.opts.CircuitThreshold, "cooldown", w.cb.base.String())
	}
	if len(released) == 0 {
		return
	}
	if _, err := w.store.ReleaseDeliveries(released, now); err != nil {
		w.log.Error("releasing deliveries held by the circuit breaker failed; they wait for their scheduled time",
			"config_id", job.ConfigID, "err", err)
		return
	}
	w.log.Info("deliveries to a platform work again", "config_id", job.ConfigID, "released", len(released))
	w.Notify()
}

// Breakers is the circuit breaker of every integration, by config id:
// closed ones too, so /metrics has one series per integration.
func (w *Worker) Breakers() ([]BreakerStatus, error) {
	cfgs, err := w.store.Configs()
	if err != nil {
		return nil, fmt.Errorf("list webhook configs: %w", err)
	}
	tripped := map[uint64]BreakerStatus{}
	for _, b := range w.cb.status(w.store.Now()) {
		tripped[b.ConfigID] = b
	}
	out := make([]BreakerStatus, 0, len(cfgs))
	for _, c := range cfgs {
		b, ok := tripped[c.ID]
		if !ok {
			b = BreakerStatus{ConfigID: c.ID, State: BreakerClosed}
		}
		delete(tripped, c.ID)
		out = append(out, b)
	}
	for id := range tripped {
		w.cb.forget(id) // deleted configs
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ConfigID < out[j].ConfigID })
	return out, nil
}
