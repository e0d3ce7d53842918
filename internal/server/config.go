package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/webhook"
)

// Config is the typed configuration of the service. The command line fills
// it in layers (defaults, then CHATBOT_* environment variables, then flags)
// and reads the secrets; Validate, which New calls, checks the rest.
type Config struct {
	Addr            string
	DataDir         string
	LogLevel        string
	LogFormat       string
	TLSCert         string
	TLSKey          string
	TrustedProxies  string
	AllowOutgoing   string
	RetryBase       time.Duration
	RetryCap        time.Duration
	DeliveryWorkers int
	// Delivery is the base of the worker's options, for tests (a long
	// poll interval, an attempt hook); the fields above fill the rest.
	Delivery        webhook.WorkerOptions
	ShutdownTimeout time.Duration
	Answer          answerConfig // the conversation engine and Ollama (answer.go)

	// BurstWindow: a native integration's user messages within it in one
	// conversation get one reply (0: each its own; no flags: 0).
	BurstWindow time.Duration

	// Knowledge base: the embedder (auto, builtin, ollama, openai), its
	// model, and the Ollama servers (OLLAMA_HOST, comma-separated).
	Embedder   string
	EmbedModel string
	OllamaHost string
	MinScore   float64 // relevance threshold; 0: calibrated per index
	// KnowledgeRoots are the folders the ingest API may read (none: it
	// reads no files; uploads still work).
	KnowledgeRoots []string
	Incoming       incomingFlags  // the limits of POST /api/webhook/incoming
	Insights       InsightsConfig // conversation outcomes and message-text retention
	// Live chat: phrases that ask for a human (comma-separated; empty: the
	// defaults), how long a session waits for an agent, and what then.
	LiveChatPhrases string
	LiveChatTimeout time.Duration
	LiveChatNoAgent string
	// The texts the user gets when a session opens and when no agent
	// accepted in time (kept waiting, or closed); empty: the defaults.
	LiveChatTransferMessage      string
	LiveChatNoAgentMessage       string
	LiveChatNoAgentClosedMessage string

	// Scheduled backups: how often (0: never), where (default
	// <data-dir>/backups), how many to keep, and the passphrase that wraps
	// the secret key into each (CHATBOT_BACKUP_PASSPHRASE[_FILE]; empty:
	// backups without the key).
	BackupEvery      time.Duration
	BackupDir        string
	BackupKeep       int
	BackupPassphrase string

	// Secrets: from CHATBOT_ADMIN_TOKEN / CHATBOT_SECRET_KEY or their _FILE variants.
	AdminToken   string
	SecretKey    string
	MetricsToken string // optional: a bearer token that may read only /metrics

	// Version is this binary's version, sent as the User-Agent of outgoing
	// deliveries and crawls; empty: "dev".
	Version string

	// Log receives the server's log (nil: discarded); Out the one-time
	// notice of a generated admin token (nil: discarded, so set it unless
	// AdminToken is).
	Log *slog.Logger `json:"-"`
	Out io.Writer    `json:"-"`

	trustedProxies []netip.Prefix // parsed from TrustedProxies by Validate
}

// Validate fills the defaults of a config built in code and checks every
// value that needs no I/O, naming the flag and the fix, so that a typo is
// refused before the data directory is opened. It is idempotent: New calls
// it again.
func (c *Config) Validate() error {
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		return fmt.Errorf("CHATBOT_ADMIN_TOKEN must be at least 16 characters")
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return fmt.Errorf("CHATBOT_METRICS_TOKEN must be at least 16 characters")
	}
	if err := checkAddr(c.Addr); err != nil {
		return err
	}
	if err := c.Insights.validate(); err != nil {
		return err
	}
	if err := checkEmbedderFlag(c.Embedder); err != nil {
		return err
	}
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("--shutdown-timeout must be a positive duration such as 15s, not %s", c.ShutdownTimeout)
	}
	if c.BurstWindow < 0 {
		return fmt.Errorf("--burst-window must be 0 (off) or a positive duration such as 1.5s, not %s", c.BurstWindow)
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 15 * time.Second // a config built without flags
	}
	if c.DataDir == "" {
		return fmt.Errorf("--data-dir must not be empty")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together: give both or neither")
	}
	if c.RetryBase <= 0 || c.RetryCap < c.RetryBase {
		return fmt.Errorf("--retry-base must be positive and --retry-cap at least --retry-base")
	}
	if c.Answer.EmbedModel == "" {
		c.Answer.EmbedModel = c.EmbedModel
	}
	if err := c.Answer.finish(); err != nil {
		return err
	}
	c.OllamaHost = c.Answer.ollamaHosts() // the same Ollama servers for answers and embeddings
	if c.DeliveryWorkers < 0 || c.DeliveryWorkers > 256 {
		return fmt.Errorf("--delivery-workers must be between 1 and 256, not %d", c.DeliveryWorkers)
	}
	if _, err := webhook.ParseAllowList(c.AllowOutgoing); err != nil {
		return err
	}
	if err := c.Incoming.validate(); err != nil {
		return err
	}
	if c.LiveChatTimeout < 0 {
		return fmt.Errorf("--livechat-timeout must not be negative")
	}
	if c.LiveChatTimeout == 0 {
		c.LiveChatTimeout = 5 * time.Minute // a config built without flags
	}
	if c.LiveChatNoAgent == "" {
		c.LiveChatNoAgent = "notify"
	}
	if c.LiveChatNoAgent != "notify" && c.LiveChatNoAgent != "close" {
		return fmt.Errorf("--livechat-no-agent must be notify or close, not %q", c.LiveChatNoAgent)
	}
	if err := c.FinishNotices(); err != nil {
		return err
	}
	if c.BackupEvery < 0 {
		return fmt.Errorf("--backup-every must be 0 (off) or a positive duration such as 24h, not %s", c.BackupEvery)
	}
	if c.BackupKeep < 0 {
		return fmt.Errorf("--backup-keep must be 0 (keep all) or more, not %d", c.BackupKeep)
	}
	c.trustedProxies = nil
	for _, s := range splitList(c.TrustedProxies) {
		p, err := parsePrefix(s)
		if err != nil {
			return fmt.Errorf("--trusted-proxies: %q is not an IP or CIDR", s)
		}
		c.trustedProxies = append(c.trustedProxies, p)
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	return nil
}

func (c *Config) logger() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

func (c *Config) out() io.Writer {
	if c.Out == nil {
		return io.Discard
	}
	return c.Out
}

// FinishNotices fills in the default texts of a config built in code and
// checks the rest.
func (c *Config) FinishNotices() error {
	for _, n := range []struct {
		dst       *string
		flag, def string
	}{
		{&c.LiveChatTransferMessage, "--livechat-transfer-message", livechat.DefaultTransferAnswer},
		{&c.LiveChatNoAgentMessage, "--livechat-no-agent-message", livechat.DefaultNoAgentMessage},
		{&c.LiveChatNoAgentClosedMessage, "--livechat-no-agent-closed-message", livechat.DefaultNoAgentClosedMessage},
	} {
		if *n.dst == "" {
			*n.dst = n.def
		}
		if err := livechat.CheckNotice(*n.dst); err != nil {
			return fmt.Errorf("%s %w", n.flag, err)
		}
	}
	return nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// InsightsConfig tunes the conversation outcomes of the Insights section.
type InsightsConfig struct {
	// Quiet is how long a conversation stays quiet after an answer (no
	// hand-off, no negative rating) before it counts as resolved by the bot.
	Quiet time.Duration
	// Retention is how long message texts are kept (0: forever).
	Retention time.Duration
}

// validate refuses a period too short to mean anything; zero is the default.
func (f InsightsConfig) validate() error {
	if f.Quiet != 0 && f.Quiet < time.Minute {
		return fmt.Errorf("--resolution-quiet-period must be at least 1m (e.g. 24h), not %s", f.Quiet)
	}
	if f.Retention < 0 || (f.Retention > 0 && f.Retention < 24*time.Hour) {
		return fmt.Errorf("--retention must be 0 (keep) or at least 1d, not %s", f.Retention)
	}
	return nil
}
