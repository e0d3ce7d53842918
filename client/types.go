package client

import (
	"encoding/json"
	"fmt"
	"time"
)

// The types below are the client's own copies of the server's JSON
// payloads, so that importing this package does not pull in the server
// (store, rag, webhook, bbolt...). Their JSON names must stay those of the
// server's handlers: contract_test.go compares them field by field with the
// server's types, and cmd's client contract test decodes real answers into
// them with unknown fields refused.

// ConfigInput is the body of POST /api/webhook/config. Pointers tell
// "absent" from "zero".
type ConfigInput struct {
	Name           *string            `json:"name"`
	Provider       *string            `json:"provider"`
	OutgoingURL    *string            `json:"outgoing_webhook_url"`
	AuthToken      *string            `json:"auth_token"`
	CustomHeaders  *map[string]string `json:"custom_headers"`
	TimeoutSeconds *int               `json:"timeout_seconds"`
	RetryAttempts  *int               `json:"retry_attempts"`
	IsActive       *bool              `json:"is_active"`
	ResponseMode   *string            `json:"response_mode"`
	IncomingSecret *string            `json:"incoming_secret"`
	AllowedIPs     *[]string          `json:"allowed_ips"`
	// RotateIncomingToken issues a new incoming token on update.
	RotateIncomingToken bool `json:"rotate_incoming_token,omitempty"`
	// A native adapter's settings (adapter "native").
	Adapter        *string `json:"adapter,omitempty"`
	APIURL         *string `json:"api_url,omitempty"`
	APIToken       *string `json:"api_token,omitempty"`
	PlatformSecret *string `json:"platform_secret,omitempty"`
	Account        *string `json:"account,omitempty"`
	BotID          *string `json:"bot_id,omitempty"`
	Handoff        *string `json:"handoff,omitempty"`
	HandoffTarget  *string `json:"handoff_target,omitempty"`
	AcceptUnsigned *bool   `json:"accept_unsigned,omitempty"`
}

// ConfigView is a webhook config as the server shows it to the admin.
type ConfigView struct {
	ID             uint64            `json:"id"`
	Name           string            `json:"name"`
	Provider       string            `json:"provider"`
	OutgoingURL    string            `json:"outgoing_webhook_url"`
	AuthToken      string            `json:"auth_token"`
	CustomHeaders  map[string]string `json:"custom_headers"`
	TimeoutSeconds int               `json:"timeout_seconds"`
	RetryAttempts  int               `json:"retry_attempts"`
	IsActive       bool              `json:"is_active"`
	ResponseMode   string            `json:"response_mode"`
	IncomingToken  string            `json:"incoming_token"`
	SigningSecret  string            `json:"signing_secret"`
	IncomingSecret string            `json:"incoming_secret"`
	AllowedIPs     []string          `json:"allowed_ips"`
	// Adapter is "generic" or "native"; the rest is a native
	// integration's, EventsPath where its platform posts its events.
	Adapter        string    `json:"adapter"`
	APIURL         string    `json:"api_url,omitempty"`
	APIToken       string    `json:"api_token,omitempty"`
	PlatformSecret string    `json:"platform_secret,omitempty"`
	Account        string    `json:"account,omitempty"`
	BotID          string    `json:"bot_id,omitempty"`
	Handoff        string    `json:"handoff,omitempty"`
	HandoffTarget  string    `json:"handoff_target,omitempty"`
	AcceptUnsigned bool      `json:"accept_unsigned,omitempty"`
	EventsPath     string    `json:"events_path,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// TestResult is what a test delivery to a config's outgoing URL observed.
type TestResult struct {
	Delivered  bool    `json:"delivered"`
	StatusCode int     `json:"status_code"`
	DurationMS float64 `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
	WebhookID  string  `json:"webhook_id"`
}

// Redelivery is the answer to a redelivery request.
type Redelivery struct {
	MessageID uint64 `json:"message_id"`
	WebhookID string `json:"webhook_id"`
	Status    string `json:"status"`
}

// Duration is a time.Duration written as "6h0m0s" in JSON, as the
// server writes a source's sync interval; "" reads as zero.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a string such as "6h".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"6h\": %w", err)
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// SourceRequest is the body of POST /api/sources.
type SourceRequest struct {
	Kind     string   `json:"kind"` // website | folder | upload
	Name     string   `json:"name"`
	Location string   `json:"location"`
	Every    Duration `json:"every"`
	Hosts    []string `json:"hosts"`
	Include  []string `json:"include"`
	Exclude  []string `json:"exclude"`
	MaxPages int      `json:"max_pages"`
	MaxDepth int      `json:"max_depth"`
}

// Source is a knowledge source and its last sync.
type Source struct {
	ID        uint64    `json:"id"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Location  string    `json:"location"`
	Every     Duration  `json:"every"`
	Hosts     []string  `json:"hosts,omitempty"`
	Include   []string  `json:"include,omitempty"`
	Exclude   []string  `json:"exclude,omitempty"`
	MaxPages  int       `json:"max_pages,omitempty"`
	MaxDepth  int       `json:"max_depth,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	LastSync  time.Time `json:"last_sync,omitzero"`
	LastGood  time.Time `json:"last_good,omitzero"`
	NextSync  time.Time `json:"next_sync,omitzero"`
	Syncing   bool      `json:"syncing,omitempty"`
	Documents int       `json:"documents"`
	Chunks    int       `json:"chunks"`
	Fetched   int       `json:"fetched"`
	Unchanged int       `json:"unchanged"`
	Removed   int       `json:"removed"`
	LastError string    `json:"last_error,omitempty"`
}

// SourceView is a source with its documents (GET /api/sources/{id}).
type SourceView struct {
	Success   bool       `json:"success"`
	Source    Source     `json:"source"`
	Documents []Document `json:"documents"`
}

// SyncSkip is a page a sync left out, and why.
type SyncSkip struct {
	URL    string `json:"url"`
	Reason string `json:"reason"`
}

// SyncReport reports one sync of a source.
type SyncReport struct {
	Source    Source        `json:"source"`
	Added     int           `json:"added"`
	Updated   int           `json:"updated"`
	Unchanged int           `json:"unchanged"`
	Removed   int           `json:"removed"`
	Requests  int           `json:"requests"`
	Skipped   []SyncSkip    `json:"skipped"`
	Duration  time.Duration `json:"duration"`
}

// Document is an indexed document.
type Document struct {
	ID        uint64    `json:"id"`
	Path      string    `json:"path"`
	Source    string    `json:"source,omitempty"`
	Title     string    `json:"title"`
	URL       string    `json:"url,omitempty"`
	Hash      string    `json:"hash"`
	Size      int64     `json:"size"`
	Chunks    int       `json:"chunks"`
	SourceID  uint64    `json:"source_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// IndexInfo says which embedder built the knowledge index.
type IndexInfo struct {
	Provider  string `json:"provider"`
	Model     string `json:"model"`
	Dimension int    `json:"dimension"`
	Analyzer  string `json:"analyzer,omitempty"`
}

// Documents is the answer of GET /api/knowledge/documents.
type Documents struct {
	Success   bool       `json:"success"`
	Documents []Document `json:"documents"`
	Index     IndexInfo  `json:"index"`
	Chunks    int        `json:"chunks"`
}

// Passage is one search hit.
type Passage struct {
	ChunkID      string  `json:"chunk_id"`
	DocID        string  `json:"doc_id"`
	Title        string  `json:"title"`
	Heading      string  `json:"heading"`
	Source       string  `json:"source"`
	URL          string  `json:"url,omitempty"`
	Text         string  `json:"text"`
	Score        float64 `json:"score"`
	VectorScore  float64 `json:"vector_score"`
	LexicalScore float64 `json:"lexical_score"`
}

// IngestRequest is the body of POST /api/knowledge/ingest: absolute paths
// the server reads below its knowledge roots.
type IngestRequest struct {
	Paths        []string `json:"paths"`
	Prune        bool     `json:"prune"`
	ChunkSize    int      `json:"chunk_size"`
	ChunkOverlap int      `json:"chunk_overlap"`
	MaxFileMB    int      `json:"max_file_mb"`
	BaseURL      string   `json:"base_url,omitempty"`
}

// Skipped is a file an ingest left out or warned about, and why.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// IngestSummary reports one ingest.
type IngestSummary struct {
	Files     int           `json:"files"`
	Added     int           `json:"added"`
	Updated   int           `json:"updated"`
	Unchanged int           `json:"unchanged"`
	Removed   int           `json:"removed"`
	Chunks    int           `json:"chunks"`
	Bytes     int64         `json:"bytes"`
	Skipped   []Skipped     `json:"skipped"`
	Warnings  []Skipped     `json:"warnings"`
	Duration  time.Duration `json:"duration"`
}

// LLMState is the language model's state as /readyz shows it.
type LLMState struct {
	Mode   string    `json:"mode"`
	State  string    `json:"state"`
	Model  string    `json:"model,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Queued int64     `json:"queued"`
}

// Readiness is the answer of GET /readyz.
type Readiness struct {
	Success     bool      `json:"success"`
	Status      string    `json:"status"` // "ready" or "degraded"
	LLM         LLMState  `json:"llm"`
	Embedder    IndexInfo `json:"embedder"`
	Chunks      int       `json:"chunks"`
	AnswerLimit string    `json:"answer_limit"`
}
