package webhook

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
)

func TestPolicyBlocksByDefault(t *testing.T) {
	p, err := ParseAllowList("")
	if err != nil {
		t.Fatal(err)
	}
	p.ownAddrs = func() []netip.Addr { return []netip.Addr{netip.MustParseAddr("203.0.114.7")} }
	tests := []struct {
		ip    string
		class string // "" means allowed
	}{
		{"127.0.0.1", "loopback"},
		{"::1", "loopback"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"169.254.169.254", "metadata"},
		{"fd00:ec2::254", "metadata"},
		{"100.100.100.200", "metadata"},
		{"10.0.0.1", "private"},
		{"172.16.0.1", "private"},
		{"192.168.1.1", "private"},
		{"fd12::1", "private"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:169.254.169.254", "metadata"},
		{"fe80::1%eth0", "link-local"},
		{"169.254.1.1", "link-local"},
		{"100.64.0.1", "cgnat"},
		{"100.127.255.254", "cgnat"},
		{"198.18.0.1", "reserved"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "reserved"},
		{"64:ff9b::7f00:1", "loopback"},    // NAT64 of 127.0.0.1
		{"2002:a00:1::1", "private"},       // 6to4 of 10.0.0.1
		{"203.0.114.7", "this host's own"}, // the server's own address
		{"93.184.215.14", ""},
		{"2606:4700::1111", ""},
		{"100.128.0.1", ""}, // just past CGNAT
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			err := p.Check("host", netip.MustParseAddr(tt.ip), false)
			if tt.class == "" {
				if err != nil {
					t.Fatalf("Check = %v, want allowed", err)
				}
				return
			}
			var be *BlockedError
			if !errors.As(err, &be) || be.Class != tt.class {
				t.Fatalf("Check = %v, want blocked as %s", err, tt.class)
			}
			if tt.class != "metadata" && !strings.Contains(err.Error(), "--allow-outgoing") {
				t.Errorf("error %q does not name the setting to change", err)
			}
		})
	}
}

func TestPolicyAllowList(t *testing.T) {
	p, err := ParseAllowList("127.0.0.0/8, 10.1.2.3,hooks.internal,private,[::1]")
	if err != nil {
		t.Fatal(err)
	}
	p.ownAddrs = nil
	tests := []struct {
		host    string
		ip      string
		allowed bool
	}{
		{"x", "127.0.0.1", true},
		{"x", "::ffff:127.0.0.1", true},
		{"x", "10.1.2.3", true},
		{"x", "192.168.1.1", true}, // class "private"
		{"x", "::1", true},
		{"x", "169.254.169.254", false}, // metadata stays blocked
		{"x", "fd00:ec2::254", false},   // even though fc00::/7 (private) is allowed
		{"x", "100.64.0.1", false},
		{"hooks.internal", "169.254.1.1", true},
		{"hooks.internal", "169.254.169.254", false},
	}
	for _, tt := range tests {
		err := p.Check(tt.host, netip.MustParseAddr(tt.ip), p.HostAllowed(tt.host))
		if (err == nil) != tt.allowed {
			t.Errorf("Check(%s, %s) = %v, want allowed %v", tt.host, tt.ip, err, tt.allowed)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "not a host!", "a..b"} {
		if _, err := ParseAllowList(bad); err == nil {
			t.Errorf("ParseAllowList(%q) accepted it", bad)
		}
	}
}

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
