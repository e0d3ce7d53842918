package cmd

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// Check outcomes.
const (
	checkOK   = "ok"
	checkWarn = "warn"
	checkFail = "FAIL"
	checkSkip = "skip"
)

// checkResult is one line of the doctor's report: what was checked, what
// was found, and what to do about it.
type checkResult struct {
	Name   string
	Status string
	Detail string
	Fix    string
}

// doctor runs the checks in order with what the earlier ones found.
type doctor struct {
	cfg     config
	e       env
	results []checkResult
	key     []byte       // the secret key serve would use, when found
	st      *store.Store // read-only; nil when missing, held or broken
	held    bool         // a running server holds the data directory
	configs []*store.WebhookConfig
	// timeout bounds each network check (Ollama, DNS, a platform's clock).
	timeout time.Duration
}

func newDoctorCommand(e env) *cobra.Command {
	var cfg config
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check the set-up: data directory, key, database, Ollama, integrations, TLS, token, clock",
		Long: `Check what an operator most often gets wrong, with the same flags and
environment as serve, and print each check with what to do. It exits 1 when
a check fails (warnings do not fail it), so it fits a deploy script:

  data directory   exists, is a directory, writable, not readable by others
  secret key       present (CHATBOT_SECRET_KEY or <data-dir>/secret.key), mode 0600, opens the stored secrets
  database         opens, schema version not newer than this binary, bbolt's consistency check
  answering        Ollama reachable and the chat and embedding models pulled (when used)
  integrations     each outgoing URL resolves to an address deliveries may reach (--allow-outgoing)
  TLS              --tls-cert and --tls-key readable, matching, not expired
  admin token      CHATBOT_ADMIN_TOKEN set, or a stored one
  clock            this machine's clock against the platforms' (signatures allow 5 minutes)
  backups          --backup-dir writable when --backup-every is set

While serve runs on the data directory the database cannot be opened beside
it; doctor then asks the server's /readyz instead.`,
		Example: `  chatbot doctor
  chatbot doctor --data-dir /var/lib/chatbot --tls-cert /etc/chatbot/cert.pem --tls-key /etc/chatbot/key.pem
  docker compose exec chatbot chatbot doctor`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d := &doctor{cfg: cfg, e: e, timeout: 5 * time.Second}
			d.run(cmd.Context())
			return d.report(cmd.OutOrStdout())
		},
	}
	bindServe(c.Flags(), e, &cfg)
	return c
}

func (d *doctor) add(name, status, detail, fix string) {
	d.results = append(d.results, checkResult{Name: name, Status: status, Detail: detail, Fix: fix})
}

func (d *doctor) run(ctx context.Context) {
	if err := finish(&d.cfg, d.e); err != nil {
		d.add("configuration", checkFail, err.Error(), "fix the flag or environment variable named above")
		return
	}
	d.add("configuration", checkOK, "flags and environment parse", "")
	if d.checkDataDir() {
		d.checkKey()
		d.checkDatabase(ctx)
		if d.st != nil {
			defer d.st.Close()
		}
	}
	d.checkAnswering(ctx)
	d.checkIntegrations(ctx)
	d.checkTLS()
	d.checkAdminToken()
	d.checkClock(ctx)
	d.checkBackups()
}

// report prints the results and fails when any check failed.
func (d *doctor) report(w io.Writer) error {
	failed, warned := 0, 0
	for _, r := range d.results {
		fmt.Fprintf(w, "[%-4s] %-13s %s\n", r.Status, r.Name, r.Detail)
		if r.Fix != "" {
			fmt.Fprintf(w, "       %-13s fix: %s\n", "", r.Fix)
		}
		switch r.Status {
		case checkFail:
			failed++
		case checkWarn:
			warned++
		}
	}
	if failed > 0 {
		return fmt.Errorf("doctor: %d checks failed, %d warnings; see the fixes above", failed, warned)
	}
	fmt.Fprintf(w, "\nall checks passed (%d warnings)\n", warned)
	return nil
}

// checkDataDir reports whether the key and database checks can run there.
func (d *doctor) checkDataDir() bool {
	dir := d.cfg.DataDir
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		d.add("data dir", checkWarn, dir+" does not exist yet", "serve creates it on first start; create it yourself (mode 0700, owned by the service user) to choose its owner")
		return false
	case err != nil:
		d.add("data dir", checkFail, err.Error(), "check the path and its parents' permissions")
		return false
	case !fi.IsDir():
		d.add("data dir", checkFail, dir+" is a file, not a directory", "point --data-dir (CHATBOT_DATA_DIR) at a directory")
		return false
	}
	probe, err := os.CreateTemp(dir, ".doctor-")
	if err != nil {
		d.add("data dir", checkFail, dir+" is not writable by this user: "+err.Error(),
			fmt.Sprintf("run as the service's user, or chown it to that user (uid %d here) and chmod 700", os.Getuid()))
		return true
	}
	probe.Close()
	os.Remove(probe.Name())
	if fi.Mode().Perm()&0o007 != 0 {
		d.add("data dir", checkWarn, fmt.Sprintf("%s is mode %04o: other users can list it", dir, fi.Mode().Perm()), "chmod 700 "+dir)
		return true
	}
	d.add("data dir", checkOK, fmt.Sprintf("%s, writable, mode %04o", dir, fi.Mode().Perm()), "")
	return true
}

func (d *doctor) checkKey() {
	keyPath := filepath.Join(d.cfg.DataDir, secret.KeyFileName)
	if d.cfg.SecretKey != "" {
		k, err := secret.LoadKey(d.cfg.SecretKey, "")
		if err != nil {
			d.add("secret key", checkFail, err.Error(), "set CHATBOT_SECRET_KEY to the original key (openssl rand -base64 32 makes a new one, for a new installation only)")
			return
		}
		d.key = k
		d.add("secret key", checkOK, "from CHATBOT_SECRET_KEY", "")
		return
	}
	fi, err := os.Stat(keyPath)
	if errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(d.cfg.DataDir, store.FileName)); err == nil {
			d.add("secret key", checkFail, "no CHATBOT_SECRET_KEY and no "+keyPath+", but a database is there: its stored secrets cannot be read",
				"put the original secret.key back (from where you keep it with your backups), or set CHATBOT_SECRET_KEY")
			return
		}
		d.add("secret key", checkWarn, keyPath+" does not exist yet", "serve creates it on first start: back it up with the database, the backups need it")
		return
	}
	k, err := secret.LoadKey("", d.cfg.DataDir)
	if err != nil {
		d.add("secret key", checkFail, err.Error(), "restore secret.key from where you keep it with your backups")
		return
	}
	d.key = k
	if fi.Mode().Perm()&0o077 != 0 {
		d.add("secret key", checkFail, fmt.Sprintf("%s is mode %04o: others can read the key to every stored secret", keyPath, fi.Mode().Perm()), "chmod 600 "+keyPath)
		return
	}
	d.add("secret key", checkOK, keyPath+", mode 0600 (keep a copy with your backups)", "")
}

func (d *doctor) checkDatabase(ctx context.Context) {
	path := filepath.Join(d.cfg.DataDir, store.FileName)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		d.add("database", checkWarn, path+" does not exist yet", "serve creates it; to start from a backup instead: chatbot restore FILE --data-dir "+d.cfg.DataDir)
		return
	}
	opts := store.Options{ReadOnly: true, LockTimeout: 300 * time.Millisecond}
	if d.key != nil {
		box, err := secret.NewBox(d.key)
		if err == nil {
			opts.Sealer = box
		}
	}
	start := time.Now()
	st, err := store.Open(d.cfg.DataDir, opts)
	switch {
	case errors.Is(err, store.ErrLocked):
		d.held = true
		d.checkRunningServer(ctx)
		return
	case errors.Is(err, store.ErrWrongKey):
		d.add("key matches", checkFail, "the secret key does not open the secrets stored in "+path,
			"start with the key this database was created with (the original secret.key or CHATBOT_SECRET_KEY)")
		return
	case errors.Is(err, store.ErrNewerSchema):
		d.add("database", checkFail, err.Error(), "run the chatbot release that wrote it, or restore a backup taken by this one")
		return
	case errors.Is(err, store.ErrCorrupt):
		d.add("database", checkFail, err.Error(), "stop serve, move the file aside and chatbot restore your latest backup")
		return
	case err != nil:
		d.add("database", checkFail, err.Error(), "see the error; check the data directory's owner and mode")
		return
	}
	d.st = st
	if opts.Sealer != nil {
		d.add("key matches", checkOK, "the secret key opens the stored secrets", "")
	}
	if err := st.Check(); err != nil {
		d.add("database", checkFail, "consistency check: "+err.Error(), "stop serve, move the file aside and chatbot restore your latest backup")
		return
	}
	size, _ := st.Size()
	d.add("database", checkOK, fmt.Sprintf("%s, %.1f MB, schema up to %d, consistency check passed in %s",
		path, float64(size)/(1<<20), store.SchemaVersion, time.Since(start).Round(time.Millisecond)), "")
	if d.configs, err = st.Configs(); err != nil {
		d.add("integrations", checkFail, "cannot read them: "+err.Error(), "see the error")
	}
}

// checkRunningServer asks the server holding the data directory whether it
// is ready: it checked the key and the database when it started.
func (d *doctor) checkRunningServer(ctx context.Context) {
	t := serverTarget{dataDir: d.cfg.DataDir}
	c, err := t.remoteClient(d.e)
	if err != nil {
		d.add("database", checkWarn, "held by another process; "+err.Error(), "run doctor with CHATBOT_ADMIN_TOKEN set, or stop the server for the full database check")
		return
	}
	cctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	ready, err := c.Ready(cctx)
	if err != nil {
		d.add("database", checkFail, "a server holds the data directory but does not answer /readyz: "+err.Error(), "look at its log (journalctl -u chatbot, docker compose logs chatbot)")
		return
	}
	d.add("database", checkOK, "held by the running server, which reports "+ready.Status+" (it checked the key and schema at start; stop it for the full consistency check)", "")
	configs, err := c.ListConfigs(cctx)
	if err != nil {
		d.add("integrations", checkWarn, "cannot list them through the server: "+err.Error(), "set CHATBOT_ADMIN_TOKEN")
		return
	}
	for _, v := range configs {
		d.configs = append(d.configs, &store.WebhookConfig{Name: v.Name, OutgoingURL: v.OutgoingURL, IsActive: v.IsActive})
	}
}

func (d *doctor) checkAnswering(ctx context.Context) {
	useOllama := d.cfg.Answer.LLM == llmAuto || d.cfg.Answer.LLM == llmOllama
	embedModel := ""
	if d.st != nil {
		if info, err := d.st.KnowledgeIndexInfo(); err == nil && info.Provider == "ollama" {
			useOllama, embedModel = true, info.Model
		}
	}
	if d.cfg.Embedder == "ollama" {
		useOllama, embedModel = true, d.cfg.EmbedModel
	}
	if d.cfg.Answer.LLM == llmOpenAI {
		d.add("answering", checkSkip, "an OpenAI-compatible server (--llm-url) answers; doctor does not probe it", "serve refuses to start when it is unreachable: look at its log")
	}
	if !useOllama {
		if d.cfg.Answer.LLM == llmNone {
			d.add("answering", checkOK, "built-in extractive answers and embeddings (--llm none); Ollama not used", "")
		}
		return
	}
	// auto answers extractively without Ollama: a missing Ollama is then a
	// warning, unless the knowledge base's embeddings need it.
	status := checkFail
	if d.cfg.Answer.LLM == llmAuto && embedModel == "" {
		status = checkWarn
	}
	chatModel := d.cfg.Answer.ChatModel
	if d.cfg.Answer.LLM == llmOpenAI {
		chatModel = "" // only the embeddings come from Ollama
	}
	for _, u := range d.cfg.Answer.OllamaURLs() {
		d.probeOllama(ctx, u, chatModel, embedModel, status)
	}
}

// probeOllama checks one Ollama server and its models.
func (d *doctor) probeOllama(ctx context.Context, u *url.URL, chatModel, embedModel, status string) {
	o, err := chat.NewOllama(chat.OllamaConfig{BaseURL: u, ChatModel: cmp.Or(chatModel, embedModel, "none"), EmbedModel: embedModel})
	if err != nil {
		d.add("answering", checkFail, err.Error(), "fix --ollama-host / OLLAMA_HOST or --chat-model")
		return
	}
	cctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	s := o.Probe(cctx)
	if chatModel == "" {
		s.ChatModel = "" // not needed from Ollama: Missing leaves it out
	}
	if !s.Reachable {
		d.add("answering", status, "Ollama at "+s.URL+" is not reachable: "+s.Err,
			"start it (systemctl start ollama, or docker compose up -d ollama) or set OLLAMA_HOST; or --llm none for extractive answers only")
		return
	}
	if missing := s.Missing(); len(missing) > 0 {
		d.add("answering", status, "Ollama "+s.Version+" at "+s.URL+" lacks a model", strings.Join(missing, " && "))
		return
	}
	d.add("answering", checkOK, fmt.Sprintf("Ollama %s at %s with %s", s.Version, s.URL, strings.Trim(chatModel+", "+embedModel, ", ")), "")
}

func (d *doctor) checkIntegrations(ctx context.Context) {
	if len(d.configs) == 0 {
		if d.st != nil || d.held {
			d.add("integrations", checkOK, "none configured yet (chatbot webhook add)", "")
		}
		return
	}
	policy, err := webhook.ParseAllowList(d.cfg.AllowOutgoing)
	if err != nil {
		return // reported by the configuration check
	}
	for _, c := range d.configs {
		name := "integration " + c.Name
		if err := d.outgoingReachable(ctx, policy, c.OutgoingURL); err != nil {
			d.add("integrations", checkFail, fmt.Sprintf("%s: %s: %v", name, c.OutgoingURL, err),
				"fix the URL (chatbot webhook remove/add, or the admin panel), or allow a private address with --allow-outgoing HOST|CIDR")
			continue
		}
		d.add("integrations", checkOK, name+": "+c.OutgoingURL+" resolves to an allowed address", "")
	}
}

// outgoingReachable resolves the URL's host and applies the delivery policy
// to every address, as a delivery would.
func (d *doctor) outgoingReachable(ctx context.Context, policy *webhook.AddrPolicy, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return errors.New("not an http(s) URL")
	}
	host := u.Hostname()
	if err := policy.CheckURLHost(host); err != nil {
		return err
	}
	allowed := policy.HostAllowed(host)
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		cctx, cancel := context.WithTimeout(ctx, d.timeout)
		defer cancel()
		if ips, err = net.DefaultResolver.LookupNetIP(cctx, "ip", host); err != nil {
			return fmt.Errorf("cannot resolve %s: %w", host, err)
		}
	}
	for _, ip := range ips {
		if err := policy.Check(host, ip, allowed); err != nil {
			return err
		}
	}
	return nil
}

func (d *doctor) checkTLS() {
	if d.cfg.TLSCert == "" {
		d.add("TLS", checkSkip, "not served directly (no --tls-cert); put a TLS proxy in front, or set --tls-cert/--tls-key", "")
		return
	}
	pair, err := tls.LoadX509KeyPair(d.cfg.TLSCert, d.cfg.TLSKey)
	if err != nil {
		d.add("TLS", checkFail, err.Error(), "check that both files are readable by the service user and that the key belongs to the certificate")
		return
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		d.add("TLS", checkFail, err.Error(), "use a PEM certificate")
		return
	}
	left := time.Until(leaf.NotAfter)
	switch {
	case left <= 0:
		d.add("TLS", checkFail, fmt.Sprintf("certificate expired %s", leaf.NotAfter.UTC().Format(time.RFC3339)), "renew it and restart serve")
	case left < 14*24*time.Hour:
		d.add("TLS", checkWarn, fmt.Sprintf("certificate expires %s", leaf.NotAfter.UTC().Format(time.RFC3339)), "renew it and restart serve")
	default:
		d.add("TLS", checkOK, fmt.Sprintf("%s matches its key, valid until %s", d.cfg.TLSCert, leaf.NotAfter.UTC().Format("2006-01-02")), "")
	}
}

func (d *doctor) checkAdminToken() {
	if d.cfg.AdminToken != "" {
		d.add("admin token", checkOK, "set by CHATBOT_ADMIN_TOKEN", "")
		return
	}
	if d.st != nil {
		if _, err := d.st.AdminTokenHash(); err == nil {
			d.add("admin token", checkOK, "generated at first start and stored (hash only)", "")
			return
		}
	}
	if d.held {
		d.add("admin token", checkWarn, "CHATBOT_ADMIN_TOKEN is not set here", "set it to the server's admin token so CLI commands can use its API")
		return
	}
	d.add("admin token", checkWarn, "none set or stored: serve will generate one and print it once", "set CHATBOT_ADMIN_TOKEN (at least 16 characters) to choose it")
}

// checkClock compares this clock with the Date header of the platforms'
// servers: incoming signatures and the ones platforms check allow
// webhook.SignatureTolerance of difference.
func (d *doctor) checkClock(ctx context.Context) {
	hc := &http.Client{Timeout: d.timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range d.configs {
		u, err := url.Parse(c.OutgoingURL)
		if err != nil || u.Host == "" {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.Scheme+"://"+u.Host+"/", nil)
		if err != nil {
			continue
		}
		sent := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			continue
		}
		resp.Body.Close()
		theirs, err := http.ParseTime(resp.Header.Get("Date"))
		if err != nil {
			continue
		}
		mid := sent.Add(time.Since(sent) / 2)
		skew := mid.Sub(theirs).Round(time.Second)
		abs := max(skew, -skew)
		detail := fmt.Sprintf("%s off %s's clock (signatures allow %s)", skew, u.Host, webhook.SignatureTolerance)
		fix := "sync the clock: timedatectl set-ntp true (or chrony/ntpd); in a container, fix the host's clock"
		switch {
		case abs > webhook.SignatureTolerance:
			d.add("clock", checkFail, detail, fix)
		case abs > time.Minute:
			d.add("clock", checkWarn, detail, fix)
		default:
			d.add("clock", checkOK, detail, "")
		}
		return
	}
	d.add("clock", checkSkip, "no platform answered with its time to compare against", "keep NTP on: signatures allow "+webhook.SignatureTolerance.String())
}

func (d *doctor) checkBackups() {
	if d.cfg.BackupEvery <= 0 {
		d.add("backups", checkWarn, "no scheduled backups (--backup-every)", "serve --backup-every 24h --backup-dir /backups, or run chatbot backup from cron; keep secret.key with them or set CHATBOT_BACKUP_PASSPHRASE")
		return
	}
	dir := d.cfg.BackupDir
	if dir == "" {
		dir = filepath.Join(d.cfg.DataDir, "backups")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		d.add("backups", checkFail, "--backup-dir: "+err.Error(), "create it writable by the service user")
		return
	}
	probe, err := os.CreateTemp(dir, ".doctor-")
	if err != nil {
		d.add("backups", checkFail, "--backup-dir "+dir+" is not writable: "+err.Error(), "chown it to the service user")
		return
	}
	probe.Close()
	os.Remove(probe.Name())
	withKey := "without the key (keep secret.key with them, or set CHATBOT_BACKUP_PASSPHRASE)"
	if d.cfg.BackupPassphrase != "" {
		withKey = "with the key wrapped by CHATBOT_BACKUP_PASSPHRASE"
	}
	d.add("backups", checkOK, fmt.Sprintf("every %s into %s, keeping %d, %s", d.cfg.BackupEvery, dir, d.cfg.BackupKeep, withKey), "")
}
