package server

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
	"github.com/chatbot/chatbot/crawl"
	"github.com/chatbot/chatbot/faq"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/insights"
	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/llm"
	"github.com/chatbot/chatbot/metrics"
	native "github.com/chatbot/chatbot/platform"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/tools"
	"github.com/chatbot/chatbot/webhook"
	"github.com/chatbot/chatbot/widget"
)

// RecordFile, in the data directory, tells CLI commands where the
// running server listens, so they can use its API while it holds the store.
const RecordFile = "server.json"

// Record is the content of RecordFile.
type Record struct {
	Addr string `json:"addr"`
	TLS  bool   `json:"tls"`
	PID  int    `json:"pid"`
}

// Server is the running service: the store, the HTTP server and the
// workers, started by New and stopped in order by Run when its context ends.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store *store.Store
	index *rag.Index // the knowledge base
	// embedder is the index's embedder when it talks to model servers
	// (its per-server state goes to /metrics); nil for the built-in one.
	embedder interface{ Hosts() []llm.HostStats }
	answer   *answering // the conversation engine
	// turns is the conversation service every channel hands its messages to.
	turns *conversation.Service
	// insights keeps conversation outcomes, ratings and knowledge gaps.
	insights *insights.Service
	ln       net.Listener
	server   *http.Server
	// incoming is POST /api/webhook/incoming.
	incoming *webhook.Incoming
	// platforms is POST /api/platforms/{id}/events (native adapters).
	platforms *native.Handler
	// admin is the panel; logs keeps recent warnings for its Logs section.
	admin *admin.Handler
	logs  *admin.LogRing
	// running holds what Run started, for the shutdown sequence (run.go).
	running running
	// widget is the website widget's chat API; metrics is /metrics, which
	// every part registers its collectors on.
	widget  *widget.Handler
	metrics *metrics.Registry
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

	tools *toolSet // API tools (tools.go)

	// syncer keeps knowledge sources (websites, folders) in step on their
	// schedules, one at a time, in the background.
	syncer *rag.Syncer
}

// newDelivery builds the outgoing delivery worker; Run starts it and the
// shutdown sequence stops it after HTTP has drained.
func (a *Server) newDelivery() error {
	policy, err := webhook.ParseAllowList(a.cfg.AllowOutgoing)
	if err != nil {
		return err
	}
	a.policy = policy
	a.sender = webhook.NewSender(policy, webhook.SenderOptions{UserAgent: "chatbot/" + a.cfg.Version})
	opts := a.cfg.Delivery
	opts.Workers = a.cfg.DeliveryWorkers
	opts.Retry = store.RetryPolicy{Base: a.cfg.RetryBase, Cap: a.cfg.RetryCap}
	opts.Native = native.NewSenders(native.Adapters(), a.sender, a.store, a.log)
	// The worker wakes one way: the store calls it after every commit that
	// queued a delivery (Worker.Run registers it), whoever the writer was.
	// So no writer below is handed the worker's Notify.
	a.worker = webhook.NewWorker(a.store, a.sender, a.log, opts)
	return nil
}

// New validates cfg, listens (so a busy port fails here, synchronously,
// before the data directory is touched), opens the store, prepares the
// admin token and builds the router; it starts nothing in the background:
// Run does. cfg.Out receives the one-time admin token notice.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Listen first: a busy port or a bad key pair fails before the data
	// directory is created or opened.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another server using the port? choose another with --addr)", cfg.Addr, err)
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("load TLS key pair: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	a, err := open(cfg, ln)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return a, nil
}

// open builds the server on its listener: the store and everything over it.
func open(cfg Config, ln net.Listener) (*Server, error) {
	log, out := cfg.logger(), cfg.out()
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
	a := &Server{cfg: cfg, log: log, store: st, logs: ring, ln: ln}
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
	a.syncer = rag.NewSyncer(a.index, rag.SyncOptions{Access: a.ingestAccess, Policy: a.policy, Crawl: CrawlDefaults(cfg.Version), Log: log})
	tokenHash, err := adminTokenHash(st, cfg.AdminToken, out)
	if err != nil {
		a.abort()
		return nil, err
	}
	if a.livechat, err = newLiveChat(cfg, st, log); err != nil {
		a.abort()
		return nil, err
	}
	if a.tools, err = newToolSet(st, a.policy, log); err != nil {
		a.abort()
		return nil, err
	}
	cfg.Answer.tools = a.tools.step
	// The engine consults live chat first: a conversation with an agent is
	// not answered by the bot.
	if a.answer, err = newAnswering(context.Background(), cfg.Answer, st, a.index, log, probeLiveChat(a.livechat, st)); err != nil {
		a.abort()
		return nil, err
	}
	if a.answer.llm != nil { // the model may call the tools no trigger matched
		a.tools.step.UseModel(a.answer.llm)
	}
	// One turn for every channel: the webhook, the widget and chatbot ask.
	if err := cfg.Insights.validate(); err != nil {
		a.abort()
		return nil, err
	}
	a.insights = insights.New(st, insights.Options{Log: log, Quiet: cfg.Insights.Quiet})
	a.turns = conversation.New(st, a.answer.engine, conversation.Options{
		DedupeRetention: cfg.Incoming.DedupeRetention, Log: log, Observers: []conversation.Observer{a.insights},
		Steps: []conversation.Step{native.NewSteps(st, livechat.NewDetector(splitList(cfg.LiveChatPhrases), nil))}})
	a.platforms = native.NewHandler(st, a.turns, native.Adapters(), log, native.Options{AnswerTimeout: cfg.Answer.AnswerTimeout + 10*time.Second,
		BurstWindow: cfg.BurstWindow, Call: a.sender})
	if a.incoming, err = newIncoming(cfg, st, a.turns, log); err != nil {
		a.abort()
		return nil, err
	}
	// One authenticator (admin token or panel session with CSRF) for the
	// panel, /metrics and every package's management API.
	auth := httpapi.NewAuth(httpapi.AuthOptions{TokenHash: tokenHash, TrustedProxies: cfg.trustedProxies})
	a.metrics = metrics.New()
	a.widget = a.newWidget()
	if a.admin, err = a.newAdmin(auth); err != nil {
		a.abort()
		return nil, err
	}
	a.metrics.AddCollector(a.syncMetrics)
	a.metrics.AddCollector(func(w *metrics.PromWriter) { a.insights.Collect(w) })
	a.metrics.AddCollector(a.tools.collect)
	a.server = &http.Server{
		Handler:           a.routes(auth),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      max(90*time.Second, cfg.Answer.AnswerTimeout+30*time.Second), // a synchronous answer fits
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	a.metrics.AddCollector(a.backups.collect)
	return a, nil
}

// abort undoes a partly built or started server: the steps of what exists,
// in order, then the store.
func (a *Server) abort() {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := a.shutdown(ctx); err != nil {
		a.log.Warn("stop after a failed start", "err", err)
	}
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

// routes builds the router. Only the management API (wrapped by the
// authenticator) consults the panel's sessions; platform webhooks, the
// widget and health get security headers, logging and request metrics only.
func (a *Server) routes(auth *httpapi.AdminAuth) http.Handler {
	admin := auth.Require
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
	tools.NewHandler(a.tools.manager, a.log).Routes(r, admin)
	askapi.New(a.turns, a.cfg.Answer.AnswerTimeout+10*time.Second, a.log).Routes(r, admin)
	faq.NewHandler(a.answer.faq, a.log).Routes(r, admin)
	a.insights.Routes(r, admin)
	r.Handle("/api/backup", admin(http.HandlerFunc(a.backups.serveHTTP))).Methods(http.MethodGet)
	a.admin.Routes(r)
	a.widget.Routes(r)
	a.metrics.Routes(r, auth.Require, a.metricsTokenHash(), a.log)

	return httpapi.SecurityHeadersBehind(a.cfg.trustedProxies)(httpapi.Logging(a.log)(a.requestMetrics(r)))
}

// Addr is the address the server listens on.
func (a *Server) Addr() string { return a.ln.Addr().String() }

// Run starts the background work, serves until ctx ends, then shuts down
// in the order of shutdownSteps, each step bounded by the shutdown timeout
// and logged. It returns once the store is closed (its lock released).
func (a *Server) Run(ctx context.Context) error {
	rec := Record{Addr: a.Addr(), TLS: a.cfg.TLSCert != "", PID: os.Getpid()}
	recPath := filepath.Join(a.cfg.DataDir, RecordFile)
	if b, err := json.Marshal(rec); err == nil {
		if err := os.WriteFile(recPath, b, 0o600); err != nil {
			a.log.Warn("cannot write server record; CLI commands will not find this server", "err", err)
		}
	}
	defer os.Remove(recPath)

	if err := a.start(ctx); err != nil {
		a.ln.Close()
		a.abort()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- a.server.Serve(a.ln) }()
	a.log.Info("serving", "addr", a.Addr(), "tls", rec.TLS, "data_dir", a.cfg.DataDir)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	a.log.Info("shutting down", "timeout", a.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	// Step 1: stop accepting and drain HTTP. The live-chat hub closes its
	// event streams on Shutdown (startLiveChat), which would otherwise
	// hold it until the timeout.
	start := time.Now()
	if err := a.server.Shutdown(sctx); err != nil {
		a.log.Warn("shutdown: HTTP did not drain in time", "err", err, "took", time.Since(start).Round(time.Millisecond))
	} else {
		a.log.Info("shutdown: stopped", "step", "http", "took", time.Since(start).Round(time.Millisecond))
	}
	if err := a.shutdown(sctx); err != nil {
		return err
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	a.log.Info("stopped")
	return nil
}

// openServeIndex loads the knowledge base with the configured embedder,
// and returns that embedder too when it talks to model servers.
func openServeIndex(cfg Config, st *store.Store) (*rag.Index, interface{ Hosts() []llm.HostStats }, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	emb, err := indexEmbedder(ctx, cfg.OllamaHost, st, EmbedderChoice{Mode: cfg.Embedder, Model: cfg.EmbedModel,
		OpenAI: cfg.Answer.openaiServers()})
	if err != nil {
		return nil, nil, err
	}
	// Loading is not bounded by the embedder's 30 s: rebuilding a million
	// chunks from the store (no usable snapshot) takes longer than that.
	octx, ocancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer ocancel()
	ix, err := rag.Open(octx, st, emb, rag.Options{MinScore: cfg.MinScore, Log: cfg.logger()})
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

// CrawlDefaults are the polite defaults of every crawl: two requests in
// flight, a quarter second between a worker's requests.
func CrawlDefaults(version string) crawl.Options {
	return crawl.Options{Concurrency: 2, Delay: 250 * time.Millisecond, UserAgent: "chatbot/" + version + " (knowledge-base sync)"}
}
