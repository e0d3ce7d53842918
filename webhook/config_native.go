package webhook

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// NativeProviders are the providers with a native adapter (package
// platform): their events come to POST /api/platforms/{id}/events and
// their answers go out through their own reply API.
var nativeProviders = []string{"chatwoot", "zendesk", "intercom", "freshchat"}

// EventsPath is where a native integration's platform posts its events.
// The integration's id is in the path because a platform signs its events
// with its own secret and sends no bearer token of ours: the path is how
// the endpoint finds the integration, and so the secret to check.
func EventsPath(id uint64) string { return "/api/platforms/" + strconv.FormatUint(id, 10) + "/events" }

// applyPlatform validates the native adapter's fields present in in and
// copies them onto c; checkNative then checks the whole.
func applyPlatform(c *store.WebhookConfig, in ConfigInput) error {
	if in.Adapter != nil {
		switch *in.Adapter {
		case "", store.AdapterGeneric:
			c.Adapter = ""
		case store.AdapterNative:
			c.Adapter = store.AdapterNative
		default:
			return apperr.Invalidf("adapter", "adapter must be \"generic\" (our JSON both ways) or \"native\" (the platform's own events and reply API)")
		}
	}
	if in.APIURL != nil {
		u := strings.TrimRight(strings.TrimSpace(*in.APIURL), "/")
		if err := validateAPIURL(u); err != nil {
			return err
		}
		c.APIURL = u
	}
	if in.APIToken != nil {
		if isMasked(*in.APIToken) {
			return apperr.Invalidf("api_token", "api_token is the masked value reads return, not a token; send the real token, or leave api_token out to keep the stored one")
		}
		if strings.ContainsAny(*in.APIToken, "\r\n\x00") || len(*in.APIToken) > maxHeaderValueLen {
			return apperr.Invalidf("api_token", "api_token must be at most %d bytes without line breaks", maxHeaderValueLen)
		}
		c.APIToken = strings.TrimSpace(*in.APIToken)
	}
	if in.PlatformSecret != nil {
		if isMasked(*in.PlatformSecret) {
			return apperr.Invalidf("platform_secret", "platform_secret is the masked value reads return, not a secret; send the real one, \"\" to remove it, or leave platform_secret out to keep the stored one")
		}
		if len(*in.PlatformSecret) > 8192 {
			return apperr.Invalidf("platform_secret", "platform_secret must be at most 8192 bytes")
		}
		c.Secret = strings.TrimSpace(*in.PlatformSecret)
	}
	for _, f := range []struct {
		name string
		in   *string
		out  *string
	}{{"account", in.Account, &c.Account}, {"bot_id", in.BotID, &c.BotID}, {"handoff_target", in.HandoffTarget, &c.HandoffTarget}} {
		if f.in == nil {
			continue
		}
		v := strings.TrimSpace(*f.in)
		if len(v) > 200 || strings.ContainsAny(v, "/?#\r\n\x00") {
			return apperr.Invalidf(f.name, "%s must be at most 200 characters without / ? # or line breaks (it goes into the platform's API paths)", f.name)
		}
		*f.out = v
	}
	if in.Handoff != nil {
		switch *in.Handoff {
		case "", store.HandoffNative, store.HandoffConsole:
			c.Handoff = *in.Handoff
		default:
			return apperr.Invalidf("handoff", "handoff must be \"native\" (the platform's agents take over there) or \"console\" (our live-chat console)")
		}
	}
	if in.AcceptUnsigned != nil {
		c.AcceptUnsigned = *in.AcceptUnsigned
	}
	return nil
}

// checkNative checks a native integration as a whole, after every field
// of the input applied: what its provider's adapter needs.
func checkNative(c *store.WebhookConfig) error {
	if !c.Native() {
		return nil
	}
	known := false
	for _, p := range nativeProviders {
		known = known || p == c.Provider
	}
	switch {
	case !known:
		return apperr.Invalidf("adapter", "adapter \"native\" is available for provider %s, not %q; use adapter \"generic\" with your own glue", strings.Join(nativeProviders, ", "), c.Provider)
	case c.OutgoingURL != "":
		return apperr.Invalidf("outgoing_webhook_url", "a native integration replies through api_url; leave outgoing_webhook_url empty")
	case c.APIURL == "":
		return apperr.Invalidf("api_url", "api_url is required for a native integration: the platform's API base, e.g. https://app.chatwoot.com")
	case c.APIToken == "":
		return apperr.Invalidf("api_token", "api_token is required for a native integration: the API credential replies are sent with (Chatwoot: the agent bot's or an agent's access token)")
	case c.Secret == "" && !c.AcceptUnsigned:
		return apperr.Invalidf("platform_secret", "platform_secret is required: the platform's webhook secret its events are signed with; or set accept_unsigned true for a platform version that does not sign")
	}
	switch c.Provider {
	case "chatwoot":
		if _, err := strconv.ParseUint(c.Account, 10, 64); err != nil {
			return apperr.Invalidf("account", "account must be the Chatwoot account id (a number: the one in /app/accounts/{id}/ of the dashboard's address)")
		}
	case "freshchat":
		if c.BotID == "" {
			return apperr.Invalidf("bot_id", "bot_id must be the Freshchat agent id the bot replies as")
		}
		if c.Secret != "" {
			if err := checkRSAPublicKey(c.Secret); err != nil {
				return apperr.Invalidf("platform_secret", "platform_secret must be the webhook's RSA public key in PEM from Freshchat's settings: it %v", err)
			}
		}
	case "intercom":
		if c.BotID == "" {
			return apperr.Invalidf("bot_id", "bot_id must be the Intercom admin id the bot replies as (Settings > Teammates, or GET /me with the access token)")
		}
	case "zendesk":
		if c.Account == "" {
			return apperr.Invalidf("account", "account must be the Sunshine Conversations app id (Zendesk Admin Center > Apps and integrations > Conversations API)")
		}
		if id, sec, ok := strings.Cut(c.APIToken, ":"); !ok || id == "" || sec == "" {
			return apperr.Invalidf("api_token", "api_token must be the Conversations API key as \"keyId:secret\" (sent with Basic auth)")
		}
	}
	if c.Handoff == "" {
		c.Handoff = store.HandoffNative
	}
	// Events are acknowledged at once and answered through the queue.
	c.ResponseMode = store.ResponseAsync
	return nil
}

// validateAPIURL accepts an absolute http(s) URL with a host, without
// credentials, query or fragment ("" removes it).
func validateAPIURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return apperr.Invalidf("api_url", "api_url is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return apperr.Invalidf("api_url", "api_url must be an absolute http:// or https:// URL")
	case u.Hostname() == "":
		return apperr.Invalidf("api_url", "api_url must name a host")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return apperr.Invalidf("api_url", "api_url must be the API base only, without credentials, query or fragment; the token goes in api_token")
	case len(raw) > 2048:
		return apperr.Invalidf("api_url", "api_url must be at most 2048 characters")
	}
	return nil
}

// platformView fills v's native fields from c, secrets masked.
func platformView(v *ConfigView, c *store.WebhookConfig) {
	v.Adapter = store.AdapterGeneric
	if !c.Native() {
		return
	}
	v.Adapter, v.APIURL, v.Account, v.BotID = c.Adapter, c.APIURL, c.Account, c.BotID
	v.APIToken, v.PlatformSecret = secret.Mask(c.APIToken), secret.Mask(c.Secret)
	v.Handoff, v.HandoffTarget, v.AcceptUnsigned = c.Handoff, c.HandoffTarget, c.AcceptUnsigned
	v.EventsPath = EventsPath(c.ID)
}

// checkRSAPublicKey reports whether text is a PEM RSA public key (PKIX or
// PKCS#1), as Freshchat gives its webhook key.
func checkRSAPublicKey(text string) error {
	block, _ := pem.Decode([]byte(strings.TrimSpace(text)))
	if block == nil {
		return errors.New("is not a PEM block (-----BEGIN PUBLIC KEY----- ...)")
	}
	if _, err := x509.ParsePKCS1PublicKey(block.Bytes); err == nil {
		return nil
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return errors.New("is not a public key")
	}
	if _, ok := k.(*rsa.PublicKey); !ok {
		return errors.New("is not an RSA key")
	}
	return nil
}
