package cmd

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/admin"
	"github.com/chatbot/chatbot/askapi"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/llm"
	native "github.com/chatbot/chatbot/platform"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// serverRecordFile, in the data directory, tells CLI commands where the
// running server listens, so they can use its API while it holds the store.
const serverRecordFile = "server.json"

type serverRecord struct {
	Addr string `json:"addr"`
	TLS  bool   `json:"tls"`
	PID  int    `json:"pid"`
}

// app is the running service: the store, the HTTP server and the workers,
// started by newApp and stopped in order by Run when its context ends.
type app struct {
	cfg   config
	log   *slog.Logger
	store *store.Store
	index *rag.Index // the knowledge base
	// embedder is the index's embedder when it talks to model servers
	// (its per-server state goes to /metrics); nil for the built-in one.
	embedder interface{ Hosts() []llm.HostStats }
	answer   *answering // the conversation engine
	// turns is the conversation service every channel hands its messages to.
	turns  *conversation.Service
	ln     net.Listener
	server *http.Server
	// incoming is POST /api/webhook/incoming.
	incoming *webhook.Incoming
	// platforms is POST /api/platforms/{id}/events (native adapters).
	platforms *native.Handler
	// admin is the panel, the widget and /metrics; logs keeps recent
	// warnings for its Logs section.
	admin *admin.Handler
	logs  *admin.LogRing
	// stops run in order at shutdown, after HTTP has drained.
	stops []func(context.Context) error
	// sender and worker deliver outgoing messages (webhook/worker.go);
	// policy is the address policy they deliver under (--allow-outgoing).
	sender *webhook.Sender
	worker *webhook.Worker
	policy *webhook.AddrPolicy
	// livechat hands conversations to human agents.
	livechat *livechat.Manager
	// ingestAccess is what the ingest API and re-ingest may read: only
	// below --knowledge-root, never the data directory.
	ingestAccess rag.Access
	// backups streams GET /api/backup and takes scheduled backups.
	backups *backups
	// syncer keeps knowledge sources (websites, folders) in step on their
	// schedules, one at a time, in the background.
	syncer *rag.Syncer
}

// newDelivery builds the outgoing delivery worker; Run starts it and the
// shutdown sequence stops it after HTTP has drained.
func (a *app) newDelivery() error {
	policy, err := webhook.ParseAllowList(a.cfg.AllowOutgoing)
	if err != nil {
		return err
	}
	a.policy = policy
	a.sender = webhook.NewSender(policy, webhook.SenderOptions{UserAgent: "chatbot/" + Version()})
	opts := a.cfg.delivery
	opts.Workers = a.cfg.DeliveryWorkers
	opts.Retry = store.RetryPolicy{Base: a.cfg.RetryBase, Cap: a.cfg.RetryCap}
	opts.Native = native.NewSenders(native.Adapters(), a.sender, a.store, a.log)
	// The worker wakes one way: the store calls it after every commit that
	// queued a delivery (Worker.Run registers it), whoever the writer was.
	// So no writer below is handed the worker's Notify.
	a.worker = webhook.NewWorker(a.store, a.sender, a.log, opts)
	return nil
}

// newApp opens the store, prepares the admin token, builds the router and
// listens (so a busy port fails here, synchronously). out receives the
// one-time admin token notice.
func newApp(cfg config, log *slog.Logger, out io.Writer) (*app, error) {
	if err := store.PrepareDir(cfg.DataDir); err != nil {
		return nil, err
	}
	key, err := secret.LoadKey(cfg.SecretKey, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(cfg.DataDir, store.Options{Sealer: box})
	if err != nil {
		return nil, err
	}
	log, ring := withLogRing(log)
	a := &app{cfg: cfg, log: log, store: st, logs: ring}
	if err := a.newDelivery(); err != nil {
		st.Close()
		return nil, err
	}
	if a.backups, err = newBackups(cfg, st, box, key, log); err != nil {
		st.Close()
		return nil, err
	}
	if a.ingestAccess, err = rag.ServerAccess(cfg.KnowledgeRoots, cfg.DataDir); err != nil {
		a.abort()
		return nil, err
	}
	if len(cfg.KnowledgeRoots) == 0 {
		log.Info("no --knowledge-root: the ingest API reads no files; uploads in the admin panel still work")
	}
	if a.index, a.embedder, err = openServeIndex(cfg, st); err != nil {
		a.abort()
		return nil, err
	}
	a.syncer = rag.NewSyncer(a.index, rag.SyncOptions{Access: a.ingestAccess, Policy: a.policy, Crawl: crawlDefaults(), Log: log})
	tokenHash, err := adminTokenHash(st, cfg.AdminToken, out)
	if err != nil {
		a.abort()
		return nil, err
	}
	if a.livechat, err = newLiveChat(cfg, st, st, storeTranscript{st}, log); err != nil {
		a.abort()
		return nil, err
	}
	// The engine consults live chat first: a conversation with an agent is
	// not answered by the bot.
	if a.answer, err = newAnswering(context.Background(), cfg.Answer, st, a.index, log, a.livechat); err != nil {
		a.abort()
		return nil, err
	}
	a.stops = append(a.stops, a.answer.close)
	// One turn for every channel: the webhook, the widget and chatbot ask.
	a.turns = conversation.New(st, a.answer.engine, conversation.Options{
		DedupeRetention: cfg.Incoming.DedupeRetention, Log: log,
		Steps: []conversation.Step{native.NewSteps(st, livechat.NewDetector(splitList(cfg.LiveChatPhrases), nil))}})
	a.platforms = native.NewHandler(st, a.turns, native.Adapters(), log, native.Options{AnswerTimeout: cfg.Answer.AnswerTimeout + 10*time.Second})
	if a.incoming, err = newIncoming(cfg, st, a.turns, log); err != nil {
		a.abort()
		return nil, err
	}
	a.stops = append(a.stops, a.incoming.Close)
	auth := httpapi.NewAdminAuth(tokenHash)
	if a.admin, err = a.newAdmin(auth); err != nil {
		a.abort()
		return nil, err
	}
	a.admin.Metrics().AddCollector(a.syncMetrics)
	a.server = &http.Server{
		Handler:           a.routes(auth),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      max(90*time.Second, cfg.Answer.AnswerTimeout+30*time.Second), // a synchronous answer fits
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		a.abort()
		return nil, fmt.Errorf("listen on %s: %w (is another server using the port? choose another with --addr)", cfg.Addr, err)
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			a.abort()
			return nil, fmt.Errorf("load TLS key pair: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	a.ln = ln
	// Shutdown order, after HTTP has drained: the producers of outgoing
	// messages (async answers, live-chat timeouts), the engine, and last the
	// delivery worker, so whatever they queued is on disk in order.
	a.stops = []func(context.Context) error{
		a.incoming.Close, a.platforms.Close, startLiveChat(a.server, a.livechat, log), a.answer.close, a.worker.Stop,
	}
	a.admin.Metrics().AddCollector(a.backups.collect)
	a.backups.start()
	a.stops = append(a.stops, a.backups.stop) // before the store closes
	startNative, err := a.platforms.Claim()   // before ResumeAsync, which would answer them undelivered
	if err != nil {
		log.Warn("native messages left unanswered by the last stop not resumed", "err", err)
		startNative = func() int { return 0 }
	}
	if n, err := a.incoming.ResumeAsync(); err != nil || n > 0 {
		log.Info("resuming async answers interrupted by the last stop", "count", n, "err", err)
	}
	if n := startNative(); n > 0 {
		log.Info("resuming native answers interrupted by the last stop", "count", n)
	}
	return a, nil
}

// abort undoes a partly built app: the stops so far, in order, then the store.
func (a *app) abort() {
	for _, stop := range a.stops {
		if err := stop(context.Background()); err != nil {
			a.log.Warn("stop after a failed start", "err", err)
		}
	}
	a.store.Close()
}

// adminTokenHash decides the admin token: the configured one, else the
// stored hash, else a new token printed once and stored as a hash.
func adminTokenHash(st *store.Store, configured string, out io.Writer) (string, error) {
	if configured != "" {
		return secret.Hash(configured), nil
	}
	h, err := st.AdminTokenHash()
	if err == nil {
		return h, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	token := secret.NewToken("cba_")
	if err := st.SetAdminTokenHash(secret.Hash(token)); err != nil {
		return "", err
	}
	fmt.Fprintf(out, "\nGenerated admin token (shown once; only its hash is stored):\n\n    %s\n\n"+
		"Keep it: the management API and /admin need it. Set CHATBOT_ADMIN_TOKEN to choose your own.\n\n", token)
	return secret.Hash(token), nil
}

// routes builds the router. Only the management API (wrapped by managed)
// and the panel's own API pass through the panel's session and CSRF
// middleware; platform webhooks, the widget, health and metrics get
// security headers, logging and request metrics only.
func (a *app) routes(auth *httpapi.AdminAuth) http.Handler {
	admin := a.managed(auth)
	r := mux.NewRouter()
	r.NotFoundHandler = httpapi.NotFound()
	r.MethodNotAllowedHandler = httpapi.MethodNotAllowed()
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "status": "ok"})
	}).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", a.readyz).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/llm/hosts", admin(http.HandlerFunc(a.llmHostsAPI))).Methods(http.MethodGet)

	webhook.NewHandler(webhook.NewConfigs(a.store).WithAddrPolicy(a.policy), a.log).WithIncoming(a.incoming).Routes(r, admin)
	a.platforms.Routes(r, admin)
	webhook.NewDeliveryHandler(webhook.NewDeliveries(a.store, a.sender, nil).WithBreakers(a.worker.Breakers), a.log).Routes(r, admin)
	rag.NewHandler(a.index, a.log, a.ingestAccess).Routes(r, admin)
	rag.NewSourcesHandler(a.syncer, a.log).Routes(r, admin)
	livechat.NewHandler(a.livechat, a.log).Routes(r, admin)
	askapi.New(a.turns, a.cfg.Answer.AnswerTimeout+10*time.Second, a.log).Routes(r, admin)
	r.Handle("/api/backup", admin(http.HandlerFunc(a.backups.serveHTTP))).Methods(http.MethodGet)
	a.admin.Routes(r)

	return httpapi.SecurityHeadersBehind(a.cfg.trustedProxies)(httpapi.Logging(a.log)(a.requestMetrics(r)))
}

// Addr is the address the server listens on.
func (a *app) Addr() string { return a.ln.Addr().String() }

// Run serves until ctx ends, then shuts down in order: stop accepting and
// drain HTTP, stop workers, close the store.
func (a *app) Run(ctx context.Context) error {
	rec := serverRecord{Addr: a.Addr(), TLS: a.cfg.TLSCert != "", PID: os.Getpid()}
	recPath := filepath.Join(a.cfg.DataDir, serverRecordFile)
	if b, err := json.Marshal(rec); err == nil {
		if err := os.WriteFile(recPath, b, 0o600); err != nil {
			a.log.Warn("cannot write server record; CLI commands will not find this server", "err", err)
		}
	}
	defer os.Remove(recPath)

	// The worker outlives ctx: shutdown stops it after HTTP has drained, so
	// answers written by the last requests are still queued in order.
	if err := a.worker.Run(context.WithoutCancel(ctx)); err != nil {
		a.ln.Close()
		a.abort()
		return fmt.Errorf("start delivery worker: %w", err)
	}
	// Source syncs run in the background and stop first at shutdown (an
	// interrupted sync is redone at the next start).
	syncCtx, stopSync := context.WithCancel(context.WithoutCancel(ctx))
	syncDone := make(chan struct{})
	go func() { defer close(syncDone); a.syncer.Run(syncCtx) }()
	a.stops = append([]func(context.Context) error{func(context.Context) error { stopSync(); <-syncDone; return nil }}, a.stops...)
	errc := make(chan error, 1)
	go func() { errc <- a.server.Serve(a.ln) }()
	a.log.Info("serving", "addr", a.Addr(), "tls", rec.TLS, "data_dir", a.cfg.DataDir)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := a.server.Shutdown(sctx); err != nil {
		a.log.Warn("HTTP shutdown did not finish in time", "err", err)
	}
	for _, stop := range a.stops {
		if err := stop(sctx); err != nil {
			a.log.Warn("stopping a worker", "err", err)
		}
	}
	if err := a.store.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	a.log.Info("stopped")
	return nil
}

// openServeIndex loads the knowledge base with the configured embedder,
// and returns that embedder too when it talks to model servers.
func openServeIndex(cfg config, st *store.Store) (*rag.Index, interface{ Hosts() []llm.HostStats }, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	emb, err := indexEmbedder(ctx, cfg.OllamaHost, st, knowledgeFlags{embedder: cfg.Embedder, embedModel: cfg.EmbedModel,
		openai: cfg.Answer.openaiServers()})
	if err != nil {
		return nil, nil, err
	}
	ix, err := rag.Open(ctx, st, emb, rag.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("knowledge base: %w", err)
	}
	// Loading decoded every chunk record; hand that garbage back to the OS
	// now rather than carry it as resident memory (about 100 ms at 100,000
	// chunks, once).
	debug.FreeOSMemory()
	hosts, _ := emb.(interface{ Hosts() []llm.HostStats })
	return ix, hosts, nil
}
