package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/chatbot/chatbot/store"
)

// MaxResponseBytes caps how much of a platform's answer is read.
const MaxResponseBytes = 64 << 10

// Payload is the JSON body POSTed to a platform's outgoing webhook URL.
type Payload struct {
	UserID         string `json:"user_id"`
	ConversationID string `json:"conversation_id"`
	Platform       string `json:"platform"`
	Message        string `json:"message"`
	// MessageFormat is "markdown": answers quote, list and link in a small
	// Markdown subset; MessagePlain is the same text without the markup,
	// for a platform that shows text as it is.
	MessageFormat string             `json:"message_format"`
	MessagePlain  string             `json:"message_plain"`
	ResponseType  store.ResponseType `json:"response_type"`
	Sender        string             `json:"sender"`
	SenderType    string             `json:"sender_type"`
	MessageID     uint64             `json:"message_id"`
	Timestamp     string             `json:"timestamp"`
	SessionID     string             `json:"session_id,omitempty"`
	// Sources are the passages the answer cites (always a list, empty for
	// an agent's reply or a notice), so a platform can show them as links.
	Sources []store.MessageSource `json:"sources"`
	// PlatformMessageID is the platform's own id of the user message this
	// answers, so the receiver can thread the reply; absent when the
	// message answers none (an agent's reply, a notice) or it had no id.
	PlatformMessageID string `json:"platform_message_id,omitempty"`
}

// PayloadOf builds the delivery payload of a stored outgoing message.
// platformMessageID is the platform's id of the message m replies to ("" for none).
func PayloadOf(m *store.Message, platformMessageID string) Payload {
	sender, senderType := m.Sender, m.SenderType
	if senderType == "" {
		senderType = "bot"
		if m.Type == store.MessageAgentOutgoing {
			senderType = "agent"
		}
	}
	if sender == "" {
		sender = "Assistant"
		if senderType == "agent" {
			sender = "Agent"
		}
	}
	sources := m.Sources
	if sources == nil {
		sources = []store.MessageSource{}
	}
	return Payload{
		UserID: m.UserID, ConversationID: m.ConversationID, Platform: m.Platform,
		Message: m.Text, MessageFormat: "markdown", MessagePlain: PlainText(m.Text), ResponseType: m.ResponseType, Sender: sender, SenderType: senderType,
		MessageID: m.ID, Timestamp: m.CreatedAt.UTC().Format(time.RFC3339), SessionID: m.SessionID,
		Sources: sources, PlatformMessageID: platformMessageID,
	}
}

// Result is the outcome of one POST to a platform.
type Result struct {
	StatusCode int           // 0 when no HTTP answer came
	Duration   time.Duration // from the first byte sent to the last byte read
	Err        error         // nil on 2xx; its text is scrubbed of the config's secrets
	RetryAfter time.Duration // the platform's Retry-After, 0 when absent or unreadable
	Permanent  bool          // retrying cannot help (410 Gone, refused address, bad URL)
}

// OK reports a 2xx answer read in full.
func (r Result) OK() bool { return r.Err == nil }

// SenderOptions tune a Sender. The zero value is usable.
type SenderOptions struct {
	// UserAgent is sent as User-Agent, e.g. "chatbot/1.2.3".
	UserAgent string
	// Resolver looks up host names (default net.DefaultResolver).
	Resolver Resolver
	// Now is the clock of the signature timestamps (default time.Now).
	Now func() time.Time
}

// Sender POSTs signed payloads to platforms. It connects only where the
// address policy allows, follows no redirects, ignores proxy settings in
// the environment and reads at most MaxResponseBytes of an answer.
type Sender struct {
	client *http.Client
	ua     string
	now    func() time.Time
}

// NewSender returns a Sender bound to policy.
func NewSender(policy *AddrPolicy, opts SenderOptions) *Sender {
	if opts.UserAgent == "" {
		opts.UserAgent = "chatbot"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	dialer := newSafeDialer(policy, opts.Resolver)
	transport := &http.Transport{
		Proxy:                 nil, // deliberately: HTTP(S)_PROXY would bypass the address policy
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &Sender{
		client: &http.Client{
			Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a 3xx is a failed attempt, never followed
			},
		},
		ua:  opts.UserAgent,
		now: opts.Now,
	}
}

// Close drops idle connections.
func (s *Sender) Close() { s.client.CloseIdleConnections() }

// Send makes one attempt to deliver body to cfg's outgoing URL with the
// config's timeout, signed for webhookID with a fresh timestamp.
func (s *Sender) Send(ctx context.Context, cfg *store.WebhookConfig, webhookID string, body []byte) Result {
	sc := newScrubber(cfg)
	res := s.send(ctx, cfg, webhookID, body)
	if res.Err != nil {
		res.Err = errors.New(sc.scrub(res.Err.Error()))
	}
	return res
}

func (s *Sender) send(ctx context.Context, cfg *store.WebhookConfig, webhookID string, body []byte) Result {
	if cfg.OutgoingURL == "" {
		return Result{Err: fmt.Errorf("webhook config %q has no outgoing_webhook_url", cfg.Name), Permanent: true}
	}
	if err := ValidateOutgoingURL(cfg.OutgoingURL); err != nil {
		return Result{Err: fmt.Errorf("webhook config %q: %w", cfg.Name, err), Permanent: true}
	}
	timeout := time.Duration(cfg.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = DefaultTimeoutSeconds * time.Second
	}
	// The attempt's duration starts with its deadline, so an attempt cut
	// by the timeout reports at least the timeout.
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.OutgoingURL, bytes.NewReader(body))
	if err != nil {
		return Result{Err: fmt.Errorf("build request: %w", err), Permanent: true}
	}
	now := s.now()
	if err := s.setHeaders(req, cfg, webhookID, body, now); err != nil {
		return Result{Err: err, Permanent: true}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return Result{Duration: time.Since(start), Err: transportError(err, timeout), Permanent: isBlocked(err)}
	}
	defer resp.Body.Close()
	res := Result{StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now)}
	snippet, readErr := readCapped(resp.Body)
	res.Duration = time.Since(start)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		if readErr != nil {
			res.Err = fmt.Errorf("HTTP %d but the answer was cut off: %w", resp.StatusCode, transportError(readErr, timeout))
		}
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		res.Err = fmt.Errorf("HTTP %d redirect not followed; set outgoing_webhook_url to the final address", resp.StatusCode)
	case resp.StatusCode == http.StatusGone:
		res.Err = fmt.Errorf("HTTP 410 Gone: the platform retired this endpoint; no more retries")
		res.Permanent = true
	default:
		res.Err = fmt.Errorf("HTTP %d%s", resp.StatusCode, snippet)
	}
	return res
}

func (s *Sender) setHeaders(req *http.Request, cfg *store.WebhookConfig, webhookID string, body []byte, ts time.Time) error {
	h := req.Header
	names := make([]string, 0, len(cfg.CustomHeaders))
	for k := range cfg.CustomHeaders {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if reservedHeaders[strings.ToLower(k)] {
			continue // refused at config time; never let one override ours
		}
		h.Set(k, cfg.CustomHeaders[k])
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", s.ua)
	if cfg.AuthToken != "" {
		h.Set("Authorization", "Bearer "+cfg.AuthToken)
	}
	sig, err := Sign(cfg.SigningSecret, webhookID, ts, body)
	if err != nil {
		return fmt.Errorf("webhook config %q: %w", cfg.Name, err)
	}
	h[HeaderWebhookID] = []string{webhookID}
	h[HeaderWebhookTimestamp] = []string{strconv.FormatInt(ts.Unix(), 10)}
	h[HeaderWebhookSignature] = []string{sig}
	return nil
}

// readCapped reads at most MaxResponseBytes of an answer and returns a
// short printable excerpt for the error of a non-2xx answer.
func readCapped(r io.Reader) (string, error) {
	var head bytes.Buffer
	_, err := io.Copy(&head, io.LimitReader(r, MaxResponseBytes))
	b := head.Bytes()
	if len(b) > 200 {
		b = b[:200]
	}
	text := strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, string(b))
	if text = strings.TrimSpace(text); text != "" {
		text = ": " + text
	}
	return text, err
}

func isBlocked(err error) bool {
	var be *BlockedError
	return errors.As(err, &be)
}

// transportError describes a failed connection without the URL, which may
// carry a token in its query.
func transportError(err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var be *BlockedError
	if errors.As(err, &be) {
		return be
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("no complete answer within %v (timeout_seconds)", timeout)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the platform closed the connection before a complete answer (%v)", err)
	}
	return err
}

// parseRetryAfter reads delay-seconds or an HTTP date. Anything else, or a
// time in the past, is 0: the normal schedule applies.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	const longest = 24 * time.Hour // the store caps it further (1h by default)
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return min(time.Duration(min(secs, int64(longest/time.Second)))*time.Second, longest)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), longest)
	}
	return 0
}

// scrubber removes a config's secrets from text bound for storage or logs.
type scrubber struct{ secrets []string }

func newScrubber(cfg *store.WebhookConfig) scrubber {
	var s []string
	add := func(v string) {
		if len(v) >= 4 {
			s = append(s, v)
		}
	}
	add(cfg.AuthToken)
	add(cfg.SigningSecret)
	add(cfg.APIToken)
	add(cfg.Secret)
	for _, v := range cfg.CustomHeaders {
		add(v)
	}
	if u, err := url.Parse(cfg.OutgoingURL); err == nil {
		add(u.RawQuery)
		if u.User != nil {
			add(u.User.String())
		}
	}
	// Longest first, so a secret that contains another is removed whole.
	sort.Slice(s, func(i, j int) bool { return len(s[i]) > len(s[j]) })
	return scrubber{secrets: s}
}

func (s scrubber) scrub(text string) string {
	for _, v := range s.secrets {
		text = strings.ReplaceAll(text, v, "****")
	}
	return text
}

// encodePayload marshals p without HTML escaping (receivers get the text as written).
func encodePayload(p any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
