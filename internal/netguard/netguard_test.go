package netguard

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
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
