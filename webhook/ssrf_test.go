package webhook

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
)

// stubResolver answers every name with fixed addresses and counts look-ups.
type stubResolver struct {
	addrs []netip.Addr
}

func (r stubResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return r.addrs, nil
}

func TestDialerRefusesBeforeConnecting(t *testing.T) {
	p, _ := ParseAllowList("")
	d := newSafeDialer(p, stubResolver{addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, addr := range []string{
		"hooks.example.test:80", // resolves to 10.0.0.1
		"127.0.0.1:80", "[::1]:80", "0.0.0.0:80", "169.254.169.254:80", "[fd00:ec2::254]:80",
		"100.100.100.200:80", "[::ffff:127.0.0.1]:80", "[fe80::1%25eth0]:80", "198.18.0.1:80",
		"2130706433:80", "0x7f000001:80", "127.1:80", "0177.0.0.1:80",
	} {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			t.Errorf("dial %s succeeded", addr)
			continue
		}
		if !isBlocked(err) {
			t.Errorf("dial %s: %v, want a policy refusal", addr, err)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"2", 2 * time.Second},
		{" 120 ", 120 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"1.5", 0},
		{"99999999999999999999", 0},
		{"999999999", 24 * time.Hour},
		{"Sun, 19 Jan 2025 12:02:00 GMT", 2 * time.Minute},
		{"Sun, 19 Jan 2025 11:00:00 GMT", 0},
		{"Wed, 01 Oct 2200 00:00:00 GMT", 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"2", "Sun, 19 Jan 2025 12:02:00 GMT", "garbage", "-1", "1e9"} {
		f.Add(s)
	}
	now := time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseRetryAfter(s, now); d < 0 || d > 24*time.Hour {
			t.Fatalf("parseRetryAfter(%q) = %v", s, d)
		}
	})
}

func TestScrubber(t *testing.T) {
	sc := newScrubber(&store.WebhookConfig{AuthToken: "tok_secret_123", CustomHeaders: map[string]string{"X-Api-Key": "key-abcdef", "X-Short": "1"},
		OutgoingURL: "https://h.example/hook?token=qwerty"}).scrub
	got := sc("HTTP 500: echo Bearer tok_secret_123 key-abcdef token=qwerty 1")
	if want := "HTTP 500: echo Bearer **** **** **** 1"; got != want {
		t.Fatalf("scrub = %q, want %q", got, want)
	}
}
