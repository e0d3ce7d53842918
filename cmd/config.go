package cmd

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/internal/server"
	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/webhook"
)

// env reads the process environment; tests pass a map instead.
type env func(key string) string

// config is the typed configuration of the service (internal/server), filled
// here in layers: defaults, then CHATBOT_* environment variables, then flags.
type config = server.Config

// lookup returns the env value of key, or of the file named by key_FILE.
func (e env) lookup(key string) (string, error) {
	if v := e(key); v != "" {
		return v, nil
	}
	if path := e(key + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read %s_FILE: %w", key, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

func (e env) or(key, def string) string {
	if v := e(key); v != "" {
		return v
	}
	return def
}

func (e env) intOr(key string, def int) int {
	if v := e(key); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

func (e env) durationOr(key string, def time.Duration) time.Duration {
	if v := e(key); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// envOfUsage finds the variable a flag's help names: "(env CHATBOT_X".
var envOfUsage = regexp.MustCompile(`\(env ([A-Z][A-Z0-9_]*)`)

// checkEnv parses every environment variable a flag of fs defaults from,
// for the flags not given on the command line, with the flag's own parser:
// CHATBOT_DELIVERY_WORKERS=four fails naming the variable and the flag.
func checkEnv(fs *pflag.FlagSet, e env) error {
	var first error
	fs.VisitAll(func(f *pflag.Flag) {
		m := envOfUsage.FindStringSubmatch(f.Usage)
		if first != nil || m == nil || f.Changed {
			return
		}
		v := e(m[1])
		if v == "" {
			return
		}
		if err := f.Value.Set(v); err != nil {
			first = fmt.Errorf("environment variable %s=%q is not a valid --%s (%s): %v", m[1], v, f.Name, f.Value.Type(), err)
		}
	})
	return first
}

// bindDataDir registers --data-dir, which every command that touches state shares.
func bindDataDir(fs *pflag.FlagSet, e env, dst *string) {
	fs.StringVar(dst, "data-dir", e.or("CHATBOT_DATA_DIR", "./data"), "directory holding the database, key and index (env CHATBOT_DATA_DIR)")
}

// bindLogging registers the logging flags.
func bindLogging(fs *pflag.FlagSet, e env, c *config) {
	fs.StringVar(&c.LogLevel, "log-level", e.or("CHATBOT_LOG_LEVEL", "info"), "debug, info, warn or error (env CHATBOT_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", e.or("CHATBOT_LOG_FORMAT", "text"), "text or json (env CHATBOT_LOG_FORMAT)")
}

// bindServe registers the flags of `serve`, with env values as defaults so
// that a flag given on the command line wins over the environment.
func bindServe(fs *pflag.FlagSet, e env, c *config) {
	fs.StringVar(&c.Addr, "addr", e.or("CHATBOT_ADDR", "127.0.0.1:8080"), "address to listen on; use :8080 to accept other hosts (env CHATBOT_ADDR)")
	bindDataDir(fs, e, &c.DataDir)
	bindLogging(fs, e, c)
	fs.StringVar(&c.TLSCert, "tls-cert", e.or("CHATBOT_TLS_CERT", ""), "PEM certificate file; with --tls-key serves HTTPS (env CHATBOT_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", e.or("CHATBOT_TLS_KEY", ""), "PEM private key file (env CHATBOT_TLS_KEY)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", e.or("CHATBOT_TRUSTED_PROXIES", ""), "comma-separated CIDRs whose X-Forwarded-For is believed (env CHATBOT_TRUSTED_PROXIES)")
	fs.StringVar(&c.AllowOutgoing, "allow-outgoing", e.or("CHATBOT_ALLOW_OUTGOING", ""), "comma-separated hosts or CIDRs outgoing webhooks and website crawls may reach although private or loopback, e.g. 127.0.0.0/8 (env CHATBOT_ALLOW_OUTGOING)")
	fs.DurationVar(&c.RetryBase, "retry-base", e.durationOr("CHATBOT_RETRY_BASE", time.Second), "first retry delay of outgoing deliveries (env CHATBOT_RETRY_BASE)")
	fs.DurationVar(&c.RetryCap, "retry-cap", e.durationOr("CHATBOT_RETRY_CAP", 10*time.Minute), "longest retry delay of outgoing deliveries (env CHATBOT_RETRY_CAP)")
	fs.StringVar(&c.Embedder, "embedder", e.or("CHATBOT_EMBEDDER", "auto"),
		"embeddings: builtin (no model), ollama, openai (the --llm-url servers), or auto (the index's own; for a new index the LLM servers' when they embed, else builtin) (env CHATBOT_EMBEDDER)")
	fs.StringVar(&c.EmbedModel, "embed-model", e.or("CHATBOT_EMBED_MODEL", "nomic-embed-text"), "embedding model (env CHATBOT_EMBED_MODEL)")
	bindKnowledgeRoots(fs, e, &c.KnowledgeRoots)
	bindMinScore(fs, e, &c.MinScore)
	bindAnswer(fs, e, &c.Answer)
	bindIncoming(fs, e, c)
	bindInsights(fs, e, &c.Insights)
	fs.IntVar(&c.DeliveryWorkers, "delivery-workers", e.intOr("CHATBOT_DELIVERY_WORKERS", webhook.DefaultWorkers), "parallel outgoing deliveries (env CHATBOT_DELIVERY_WORKERS)")
	fs.StringVar(&c.LiveChatPhrases, "livechat-phrases", e.or("CHATBOT_LIVECHAT_PHRASES", ""), "comma-separated phrases that hand a conversation to a human, replacing the defaults (env CHATBOT_LIVECHAT_PHRASES)")
	fs.DurationVar(&c.LiveChatTimeout, "livechat-timeout", e.durationOr("CHATBOT_LIVECHAT_TIMEOUT", 5*time.Minute), "how long a live chat waits for an agent before the user is told (env CHATBOT_LIVECHAT_TIMEOUT)")
	fs.StringVar(&c.LiveChatNoAgent, "livechat-no-agent", e.or("CHATBOT_LIVECHAT_NO_AGENT", "notify"), "when no agent accepts in time: notify (keep waiting) or close (env CHATBOT_LIVECHAT_NO_AGENT)")
	bindNotice(fs, e, &c.LiveChatTransferMessage, "livechat-transfer-message", "CHATBOT_LIVECHAT_TRANSFER_MESSAGE",
		livechat.DefaultTransferAnswer, "what the user is told when a live chat opens")
	bindNotice(fs, e, &c.LiveChatNoAgentMessage, "livechat-no-agent-message", "CHATBOT_LIVECHAT_NO_AGENT_MESSAGE",
		livechat.DefaultNoAgentMessage, "what the user is told when no agent accepted in time and the chat keeps waiting")
	bindNotice(fs, e, &c.LiveChatNoAgentClosedMessage, "livechat-no-agent-closed-message", "CHATBOT_LIVECHAT_NO_AGENT_CLOSED_MESSAGE",
		livechat.DefaultNoAgentClosedMessage, "what the user is told when no agent accepted in time and --livechat-no-agent is close")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", e.durationOr("CHATBOT_SHUTDOWN_TIMEOUT", 15*time.Second), "how long shutdown waits for in-flight work (env CHATBOT_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&c.BurstWindow, "burst-window", e.durationOr("CHATBOT_BURST_WINDOW", 1500*time.Millisecond),
		"native integrations: a user's messages this close together in one conversation get one reply; 0 answers each (env CHATBOT_BURST_WINDOW)")
	bindBackup(fs, e, c)
}

// bindIncoming registers the limits of POST /api/webhook/incoming.
func bindIncoming(fs *pflag.FlagSet, e env, c *config) {
	f := &c.Incoming
	fs.IntVar(&f.MaxMessageBytes, "max-message-bytes", e.intOr("CHATBOT_MAX_MESSAGE_BYTES", webhook.DefaultMaxMessageBytes), "largest incoming message text in bytes; larger gets 413 (env CHATBOT_MAX_MESSAGE_BYTES)")
	fs.IntVar(&f.RatePerMinute, "rate-per-minute", e.intOr("CHATBOT_RATE_PER_MINUTE", webhook.DefaultRatePerMinute), "incoming requests per minute per integration; more get 429 (env CHATBOT_RATE_PER_MINUTE)")
	fs.DurationVar(&f.DedupeRetention, "dedupe-retention", e.durationOr("CHATBOT_DEDUPE_RETENTION", conversation.DefaultDedupeRetention), "how long a platform message_id is remembered to drop retries (env CHATBOT_DEDUPE_RETENTION)")
	fs.IntVar(&f.MaxConcurrent, "max-concurrent-answers", e.intOr("CHATBOT_MAX_CONCURRENT_ANSWERS", webhook.DefaultMaxConcurrent), "answers produced at once; 8x as many may wait, more get 503 (env CHATBOT_MAX_CONCURRENT_ANSWERS)")
}

// bindBackup registers the scheduled-backup flags of serve.
func bindBackup(fs *pflag.FlagSet, e env, c *config) {
	fs.DurationVar(&c.BackupEvery, "backup-every", e.durationOr("CHATBOT_BACKUP_EVERY", 0), "take a checked backup this often, e.g. 24h; 0 never (env CHATBOT_BACKUP_EVERY)")
	fs.StringVar(&c.BackupDir, "backup-dir", e.or("CHATBOT_BACKUP_DIR", ""), "directory of scheduled backups; default <data-dir>/backups, better another disk (env CHATBOT_BACKUP_DIR)")
	fs.IntVar(&c.BackupKeep, "backup-keep", e.intOr("CHATBOT_BACKUP_KEEP", 7), "how many scheduled backups to keep, newest first; 0 keeps all (env CHATBOT_BACKUP_KEEP)")
}

// finishBackup reads the backup passphrase; Validate checks the backup flags.
func finishBackup(c *config, e env) error {
	if c.BackupPassphrase == "" { // else set in code
		var err error
		if c.BackupPassphrase, err = e.lookup("CHATBOT_BACKUP_PASSPHRASE"); err != nil {
			return err
		}
	}
	return nil
}

// noticeValue is a flag holding a text sent to users: it refuses a blank
// or overlong text when parsed, from the command line or the environment.
type noticeValue struct{ dst *string }

func (v noticeValue) String() string {
	if v.dst == nil {
		return ""
	}
	return *v.dst
}

func (v noticeValue) Set(s string) error {
	if err := livechat.CheckNotice(s); err != nil {
		return err
	}
	*v.dst = s
	return nil
}

func (noticeValue) Type() string { return "string" }

// bindNotice registers a notice text flag with its env variable.
func bindNotice(fs *pflag.FlagSet, e env, dst *string, name, envKey, def, usage string) {
	*dst = e.or(envKey, def)
	fs.Var(noticeValue{dst}, name, fmt.Sprintf("%s, at most %d characters (env %s)", usage, livechat.MaxNoticeChars, envKey))
}

// finish reads the secrets and the environment's defaults, checks the
// logging flags, and validates the whole config once (server.Config.Validate).
func finish(c *config, e env) error {
	var err error
	if c.AdminToken, err = e.lookup("CHATBOT_ADMIN_TOKEN"); err != nil {
		return err
	}
	if c.SecretKey, err = e.lookup("CHATBOT_SECRET_KEY"); err != nil {
		return err
	}
	if c.MetricsToken, err = e.lookup("CHATBOT_METRICS_TOKEN"); err != nil {
		return err
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	if c.Answer.OllamaHost == "" { // a config built in code; flags default to it already
		c.Answer.OllamaHost = e("OLLAMA_HOST")
	}
	if err := finishKey(&c.Answer, e); err != nil {
		return err
	}
	if err := finishBackup(c, e); err != nil {
		return err
	}
	c.Version = Version()
	return c.Validate()
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string { return server.SplitList(s) }

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", s)
	}
	return l, nil
}

// newLogger builds the one logger of the process.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	l, _ := parseLevel(level)
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
