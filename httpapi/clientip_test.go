package httpapi_test

import (
	"net/http/httptest"
	"testing"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/httpapi/clientiptest"
)

// Every chain of the shared table names the expected client; the callers'
// tests (webhook, widget, admin) run the same table over HTTP.
func TestClientIPGarbledChains(t *testing.T) {
	for _, c := range clientiptest.Cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "127.0.0.1:5000"
		for _, v := range c.XFF {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := httpapi.ClientIP(r, clientiptest.Trusted).String(); got != c.Want {
			t.Errorf("%s: ClientIP(XFF %q) = %s, want %s", c.Name, c.XFF, got, c.Want)
		}
	}
}

// The peer is read like a hop: with or without port, zone dropped; an
// unparsable one is the zero address.
func TestClientIPPeer(t *testing.T) {
	for remote, want := range map[string]string{
		"203.0.113.1:5000":     "203.0.113.1",
		"203.0.113.1":          "203.0.113.1",
		"[2001:db8::1]:5000":   "2001:db8::1",
		"[fe80::1%eth0]:5000":  "fe80::1",
		"[::ffff:192.0.2.1]:1": "192.0.2.1",
		"not-an-address":       "invalid IP",
		"":                     "invalid IP",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if got := httpapi.ClientIP(r, nil).String(); got != want {
			t.Errorf("ClientIP(peer %q) = %s, want %s", remote, got, want)
		}
	}
}

// FuzzClientIP: whatever a client puts in X-Forwarded-For, the answer is
// a valid address without a zone, never a trusted proxy's unless every hop
// after the peer was garbled or trusted, and never panics.
func FuzzClientIP(f *testing.F) {
	for _, c := range clientiptest.Cases {
		if len(c.XFF) > 0 {
			f.Add(c.XFF[0])
		}
	}
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "127.0.0.1:5000"
		r.Header.Set("X-Forwarded-For", xff)
		a := httpapi.ClientIP(r, clientiptest.Trusted)
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
			t.Fatalf("ClientIP(%q) = %v", xff, a)
		}
	})
}
