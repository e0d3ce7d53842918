// Package webhook serves the platform-facing HTTP API: webhook
// configurations, incoming messages and the outgoing delivery of answers.
package webhook

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// Defaults for fields a new config leaves out.
const (
	DefaultTimeoutSeconds = 30
	DefaultRetryAttempts  = 3
	maxNameLen            = 100
	maxHeaders            = 32
	maxHeaderValueLen     = 4096
)

// ConfigInput is the body of create and update. Pointers tell "absent" from
// "zero": on update only the fields present change.
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
	// IncomingSecret ("whsec_<base64>", at least 24 bytes; "" turns the
	// check off) makes incoming requests carry a Standard Webhooks signature.
	IncomingSecret *string `json:"incoming_secret"`
	// AllowedIPs limits incoming requests to these IPs or CIDRs ([] = any).
	AllowedIPs *[]string `json:"allowed_ips"`
	// RotateIncomingToken issues a new incoming token on update; the old
	// one stops working at once.
	RotateIncomingToken bool `json:"rotate_incoming_token,omitempty"`
	// The native adapter's settings (config_native.go): adapter "native"
	// takes the platform's own events and replies through its API.
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

// ConfigView is a config as the API shows it. Secrets are masked except in
// the response that creates them.
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
	// Adapter is "generic" or "native"; the rest is a native integration's
	// (empty for a generic one), EventsPath where its platform posts.
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

// Configs manages webhook configurations. The API handlers and the
// `chatbot webhook` commands both go through it.
type Configs struct {
	store  *store.Store
	policy *AddrPolicy // when set, outgoing URLs it would refuse are refused when saved
}

// NewConfigs returns the configuration service over st.
func NewConfigs(st *store.Store) *Configs { return &Configs{store: st} }

// WithAddrPolicy makes Create and Update refuse an outgoing URL whose host
// is an address p refuses to deliver to (a literal IP, localhost, a numeric
// form), so the operator learns it when saving, not from the first failed
// delivery. Host names are checked where they are resolved, at delivery.
func (cs *Configs) WithAddrPolicy(p *AddrPolicy) *Configs {
	cs.policy = p
	return cs
}

// checkDestination applies the address policy to an outgoing URL.
func (cs *Configs) checkDestination(raw string) error {
	if cs.policy == nil || raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil // ValidateOutgoingURL reported it
	}
	if err := cs.policy.CheckURLHost(u.Hostname()); err != nil {
		return apperr.Invalidf("outgoing_webhook_url", "outgoing_webhook_url: %v", err)
	}
	return nil
}

// checkAPIDestination applies the address policy to a native API URL.
func (cs *Configs) checkAPIDestination(raw string) error {
	if cs.policy == nil || raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil // validateAPIURL reported it
	}
	if err := cs.policy.CheckURLHost(u.Hostname()); err != nil {
		return apperr.Invalidf("api_url", "api_url: %v", err)
	}
	return nil
}

// Create validates in, stores a new config and returns it with its incoming
// token and signing secret in full: the only time they are shown.
func (cs *Configs) Create(in ConfigInput) (ConfigView, error) {
	c := &store.WebhookConfig{
		TimeoutSeconds: DefaultTimeoutSeconds,
		RetryAttempts:  DefaultRetryAttempts,
		IsActive:       true,
		ResponseMode:   store.ResponseSync,
	}
	if in.Name == nil {
		return ConfigView{}, apperr.Invalidf("name", "name is required")
	}
	if in.Provider == nil {
		return ConfigView{}, apperr.Invalidf("provider", "provider is required (a lower-case slug such as \"freshchat\")")
	}
	if err := apply(c, in); err != nil {
		return ConfigView{}, err
	}
	if err := cs.checkDestination(c.OutgoingURL); err != nil {
		return ConfigView{}, err
	}
	if err := cs.checkAPIDestination(c.APIURL); err != nil {
		return ConfigView{}, err
	}
	token := secret.NewToken("cbi_")
	c.IncomingTokenHash = secret.Hash(token)
	c.IncomingTokenLast4 = token[len(token)-4:]
	c.SigningSecret = secret.NewSigningSecret()
	if err := cs.store.CreateConfig(c); err != nil {
		return ConfigView{}, storeError(err, "webhook config")
	}
	v := view(c)
	v.IncomingToken, v.SigningSecret = token, c.SigningSecret
	return v, nil
}

// Update changes the fields present in in. With RotateIncomingToken the
// returned view carries the new token in full.
func (cs *Configs) Update(id uint64, in ConfigInput) (ConfigView, error) {
	var newToken string
	c, err := cs.store.UpdateConfig(id, func(c *store.WebhookConfig) error {
		if err := apply(c, in); err != nil {
			return err
		}
		if in.OutgoingURL != nil {
			if err := cs.checkDestination(c.OutgoingURL); err != nil {
				return err
			}
		}
		if in.APIURL != nil {
			if err := cs.checkAPIDestination(c.APIURL); err != nil {
				return err
			}
		}
		if in.RotateIncomingToken {
			newToken = secret.NewToken("cbi_")
			c.IncomingTokenHash = secret.Hash(newToken)
			c.IncomingTokenLast4 = newToken[len(newToken)-4:]
		}
		return nil
	})
	if err != nil {
		return ConfigView{}, storeError(err, fmt.Sprintf("webhook config %d", id))
	}
	v := view(c)
	if newToken != "" {
		v.IncomingToken = newToken
	}
	return v, nil
}

// Get returns one config, masked.
func (cs *Configs) Get(id uint64) (ConfigView, error) {
	c, err := cs.store.Config(id)
	if err != nil {
		return ConfigView{}, storeError(err, fmt.Sprintf("webhook config %d", id))
	}
	return view(c), nil
}

// Find returns the config named ref, or with id ref when ref is a number.
func (cs *Configs) Find(ref string) (ConfigView, error) {
	if id, err := strconv.ParseUint(ref, 10, 64); err == nil {
		if v, err := cs.Get(id); err == nil || apperr.CodeOf(err) != apperr.NotFound {
			return v, err
		}
	}
	c, err := cs.store.ConfigByName(ref)
	if err != nil {
		return ConfigView{}, storeError(err, fmt.Sprintf("webhook config %q", ref))
	}
	return view(c), nil
}

// List returns every config, masked, by id.
func (cs *Configs) List() ([]ConfigView, error) {
	all, err := cs.store.Configs()
	if err != nil {
		return nil, storeError(err, "webhook configs")
	}
	out := make([]ConfigView, 0, len(all))
	for _, c := range all {
		out = append(out, view(c))
	}
	return out, nil
}

// Delete removes a config.
func (cs *Configs) Delete(id uint64) error {
	if err := cs.store.DeleteConfig(id); err != nil {
		return storeError(err, fmt.Sprintf("webhook config %d", id))
	}
	return nil
}

func view(c *store.WebhookConfig) ConfigView {
	headers := make(map[string]string, len(c.CustomHeaders))
	for k, v := range c.CustomHeaders {
		headers[k] = secret.Mask(v)
	}
	incoming := ""
	if c.IncomingTokenLast4 != "" {
		incoming = "****" + c.IncomingTokenLast4
	}
	v := ConfigView{
		ID: c.ID, Name: c.Name, Provider: c.Provider, OutgoingURL: c.OutgoingURL,
		AuthToken: secret.Mask(c.AuthToken), CustomHeaders: headers,
		TimeoutSeconds: c.TimeoutSeconds, RetryAttempts: c.RetryAttempts, IsActive: c.IsActive,
		ResponseMode: string(c.ResponseMode), IncomingToken: incoming, SigningSecret: secret.Mask(c.SigningSecret),
		IncomingSecret: secret.Mask(c.IncomingSecret), AllowedIPs: append([]string{}, c.AllowedIPs...),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	platformView(&v, c)
	return v
}

// storeError turns store sentinels into API errors naming what.
func storeError(err error, what string) error {
	if _, ok := apperr.As(err); ok {
		return err
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apperr.New(apperr.NotFound, "%s not found", what)
	case errors.Is(err, store.ErrConflict):
		return &apperr.Error{Code: apperr.Conflict, Field: "name", Message: "a webhook config with this name already exists; choose another name"}
	}
	return apperr.Wrap(apperr.Internal, err, "%s: storage error", what)
}

var providerSlug = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// apply validates each present field of in and copies it onto c.
func apply(c *store.WebhookConfig, in ConfigInput) error {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		switch {
		case name == "":
			return apperr.Invalidf("name", "name must not be empty")
		case utf8.RuneCountInString(name) > maxNameLen:
			return apperr.Invalidf("name", "name must be at most %d characters", maxNameLen)
		case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
			return apperr.Invalidf("name", "name must be valid UTF-8 text without control characters")
		}
		c.Name = name
	}
	if in.Provider != nil {
		if !providerSlug.MatchString(*in.Provider) {
			return apperr.Invalidf("provider", "provider must be a lower-case slug (a-z, 0-9, - and _, starting with a letter, at most 32), e.g. \"freshchat\"")
		}
		c.Provider = *in.Provider
	}
	if in.OutgoingURL != nil {
		u := strings.TrimSpace(*in.OutgoingURL)
		if err := ValidateOutgoingURL(u); err != nil {
			return err
		}
		c.OutgoingURL = u
	}
	if in.AuthToken != nil {
		if isMasked(*in.AuthToken) {
			return apperr.Invalidf("auth_token", "auth_token is the masked value reads return, not a token; send the real token, \"\" to remove it, or leave auth_token out to keep the stored one")
		}
		if strings.ContainsAny(*in.AuthToken, "\r\n\x00") || len(*in.AuthToken) > maxHeaderValueLen {
			return apperr.Invalidf("auth_token", "auth_token must be at most %d bytes without line breaks", maxHeaderValueLen)
		}
		c.AuthToken = *in.AuthToken
	}
	if in.CustomHeaders != nil {
		if err := validateHeaders(*in.CustomHeaders); err != nil {
			return err
		}
		c.CustomHeaders = *in.CustomHeaders
	}
	if in.TimeoutSeconds != nil {
		if *in.TimeoutSeconds < 1 || *in.TimeoutSeconds > 300 {
			return apperr.Invalidf("timeout_seconds", "timeout_seconds must be between 1 and 300")
		}
		c.TimeoutSeconds = *in.TimeoutSeconds
	}
	if in.RetryAttempts != nil {
		if *in.RetryAttempts < 0 || *in.RetryAttempts > 10 {
			return apperr.Invalidf("retry_attempts", "retry_attempts must be between 0 and 10")
		}
		c.RetryAttempts = *in.RetryAttempts
	}
	if in.IsActive != nil {
		c.IsActive = *in.IsActive
	}
	if in.ResponseMode != nil {
		if *in.ResponseMode != "sync" && *in.ResponseMode != "async" {
			return apperr.Invalidf("response_mode", "response_mode must be \"sync\" or \"async\"")
		}
		c.ResponseMode = store.ResponseMode(*in.ResponseMode)
	}
	if in.IncomingSecret != nil {
		if isMasked(*in.IncomingSecret) {
			return apperr.Invalidf("incoming_secret", "incoming_secret is the masked value reads return, not a secret; send the real one, \"\" to turn the check off, or leave incoming_secret out to keep the stored one")
		}
		if *in.IncomingSecret != "" {
			if _, err := incomingKey(*in.IncomingSecret); err != nil {
				return apperr.Invalidf("incoming_secret", "incoming_secret %s", err.Error())
			}
		}
		c.IncomingSecret = *in.IncomingSecret
	}
	if in.AllowedIPs != nil {
		list, err := parseAllowedIPs(*in.AllowedIPs)
		if err != nil {
			return err
		}
		c.AllowedIPs = list
	}
	if err := applyPlatform(c, in); err != nil {
		return err
	}
	return checkNative(c)
}

// ValidateOutgoingURL accepts an empty URL (no delivery) or an absolute
// http(s) URL with a host and without credentials.
func ValidateOutgoingURL(raw string) error {
	if raw == "" {
		return nil
	}
	const field = "outgoing_webhook_url"
	u, err := url.Parse(raw)
	if err != nil {
		return apperr.Invalidf(field, "outgoing_webhook_url is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return apperr.Invalidf(field, "outgoing_webhook_url must be an absolute http:// or https:// URL")
	case u.Host == "" || u.Hostname() == "":
		return apperr.Invalidf(field, "outgoing_webhook_url must name a host")
	case u.User != nil:
		return apperr.Invalidf(field, "outgoing_webhook_url must not contain credentials; use auth_token or custom_headers")
	case len(raw) > 2048:
		return apperr.Invalidf(field, "outgoing_webhook_url must be at most 2048 characters")
	}
	return nil
}

// reservedHeaders are set by the delivery itself or are hop-by-hop.
var reservedHeaders = map[string]bool{
	"host": true, "content-length": true, "transfer-encoding": true, "connection": true,
	"keep-alive": true, "proxy-authorization": true, "proxy-authenticate": true, "proxy-connection": true,
	"te": true, "trailer": true, "upgrade": true, "content-type": true, "authorization": true,
	"webhook-id": true, "webhook-timestamp": true, "webhook-signature": true, "user-agent": true,
	"expect": true, "cookie": true,
}

func validateHeaders(h map[string]string) error {
	if len(h) > maxHeaders {
		return apperr.Invalidf("custom_headers", "custom_headers may hold at most %d headers", maxHeaders)
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !isToken(k) {
			return apperr.Invalidf("custom_headers", "custom header name %q is not a valid HTTP header name", k)
		}
		if reservedHeaders[strings.ToLower(k)] {
			return apperr.Invalidf("custom_headers", "custom header %q is set by chatbot itself or is hop-by-hop; remove it (use auth_token for Authorization)", k)
		}
		v := h[k]
		if isMasked(v) {
			return apperr.Invalidf("custom_headers", "custom header %q: the value is the masked one reads return; send every header's real value, or leave custom_headers out to keep the stored headers", k)
		}
		if len(v) > maxHeaderValueLen || strings.ContainsAny(v, "\r\n\x00") {
			return apperr.Invalidf("custom_headers", "custom header %q: value must be at most %d bytes without line breaks", k, maxHeaderValueLen)
		}
	}
	return nil
}

// isMasked reports whether a secret value is what secret.Mask shows on
// reads ("****" and maybe the last four characters). Sent back on an update
// it would replace the real secret with its mask.
func isMasked(v string) bool { return strings.HasPrefix(v, "****") }

// isToken reports whether s is an RFC 9110 token (a valid header name).
func isToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
