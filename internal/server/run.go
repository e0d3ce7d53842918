package server

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// running is what Run started, so that the shutdown sequence stops exactly
// that, and a server that failed to start or never ran stops the rest.
type running struct {
	liveChat func(context.Context) error // ends the live-chat timeout loop; nil: not started
	syncs    func(context.Context) error // ends the source syncer; nil: not started
	backups  bool                        // the backup scheduler runs
	// retention ends the sweep of old message texts; nil: not started
	// (--retention 0 keeps them).
	retention func(context.Context) error
	once      sync.Once // the shutdown sequence runs once
	err       error     // what it returned
}

// Close releases a server that New built and Run never ran: the listener,
// then the shutdown sequence. After Run it does nothing.
func (a *Server) Close() error {
	a.ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	return a.shutdown(ctx)
}

// start starts the background work in the order it depends on: the
// delivery worker first (it recovers the queue), then what queues
// messages for it.
func (a *Server) start(ctx context.Context) error {
	// The worker outlives ctx: shutdown stops it after HTTP has drained, so
	// answers written by the last requests are still queued in order.
	if err := a.worker.Run(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start delivery worker: %w", err)
	}
	a.running.liveChat = startLiveChat(a.server, a.livechat, a.log)
	// Source syncs run in the background (an interrupted sync is redone at
	// the next start).
	syncCtx, stopSync := context.WithCancel(context.WithoutCancel(ctx))
	syncDone := make(chan struct{})
	go func() { defer close(syncDone); a.syncer.Run(syncCtx) }()
	a.running.syncs = func(ctx context.Context) error {
		stopSync()
		select {
		case <-syncDone:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("source sync did not stop: %w", ctx.Err())
		}
	}
	a.backups.start()
	a.running.backups = true
	if a.cfg.Insights.Retention > 0 {
		a.running.retention = a.insights.StartRetention(a.cfg.Insights.Retention, time.Hour)
	}
	// Native messages acknowledged but not answered before the last stop
	// (the platform does not resend them) are claimed first: ResumeAsync
	// would answer them without delivery.
	startNative, err := a.platforms.Claim()
	if err != nil {
		a.log.Warn("native messages left unanswered by the last stop not resumed", "err", err)
		startNative = func() int { return 0 }
	}
	if n, err := a.incoming.ResumeAsync(); err != nil || n > 0 {
		a.log.Info("resuming async answers interrupted by the last stop", "count", n, "err", err)
	}
	if n := startNative(); n > 0 {
		a.log.Info("resuming native answers interrupted by the last stop", "count", n)
	}
	return nil
}

// shutdownStep is one step of the shutdown sequence.
type shutdownStep struct {
	name string
	stop func(context.Context) error
}

// shutdownSteps is the shutdown order after HTTP has drained (Run's step
// 1), for what exists and was started:
//
//  2. background answers: asynchronous webhook answers and native
//     platforms' answers finish and queue their replies;
//  3. the live-chat timeout loop, which queues no-agent notices;
//  4. the LLM client's background health checker;
//  5. source syncs (an interrupted sync is redone at the next start);
//  6. the delivery worker: in-flight deliveries finish; whatever steps 2
//     and 3 queued is on disk, in order, for the next start;
//  7. scheduled backups, a backup in progress cut short; the sweep of old
//     message texts (--retention);
//  8. the knowledge index writes its snapshot (rag.SnapshotFile) if it
//     changed since the last one, so that the next start need not rebuild it;
//  9. the store, last: its file lock is released only once nothing else
//     runs.
func (a *Server) shutdownSteps() []shutdownStep {
	var steps []shutdownStep
	add := func(name string, present bool, stop func(context.Context) error) {
		if present {
			steps = append(steps, shutdownStep{name, stop})
		}
	}
	add("background answers", a.incoming != nil, func(ctx context.Context) error { return a.incoming.Close(ctx) })
	add("platform answers", a.platforms != nil, func(ctx context.Context) error { return a.platforms.Close(ctx) })
	add("live chat", a.running.liveChat != nil, func(ctx context.Context) error { return a.running.liveChat(ctx) })
	add("llm checker", a.answer != nil, func(ctx context.Context) error { return a.answer.close(ctx) })
	add("source syncs", a.running.syncs != nil, func(ctx context.Context) error { return a.running.syncs(ctx) })
	add("delivery worker", a.worker != nil, func(ctx context.Context) error { return a.worker.Stop(ctx) })
	add("scheduled backups", a.running.backups, func(ctx context.Context) error { return a.backups.stop(ctx) })
	add("message retention", a.running.retention != nil, func(ctx context.Context) error { return a.running.retention(ctx) })
	add("knowledge snapshot", a.index != nil, func(context.Context) error { return a.index.Close() })
	return steps
}

// shutdown runs the shutdown steps in order within ctx, logging each, then
// closes the store. A step that fails or runs out of time is logged and
// the next one still runs: the store must close whatever happened. It runs
// once; later calls return the first result.
func (a *Server) shutdown(ctx context.Context) error {
	a.running.once.Do(func() {
		for _, s := range a.shutdownSteps() {
			start := time.Now()
			if err := s.stop(ctx); err != nil {
				a.log.Warn("shutdown: "+s.name+" did not stop cleanly", "step", s.name, "err", err, "took", time.Since(start).Round(time.Millisecond))
				continue
			}
			a.log.Info("shutdown: stopped", "step", s.name, "took", time.Since(start).Round(time.Millisecond))
		}
		if err := a.store.Close(); err != nil {
			a.running.err = fmt.Errorf("close store: %w", err)
			return
		}
		a.log.Info("shutdown: stopped", "step", "store")
	})
	return a.running.err
}
