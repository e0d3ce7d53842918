// Package netguard keeps outgoing HTTP (webhook deliveries, website
// crawls) off the host's own network: it is the one address policy both use.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// Outgoing deliveries go to addresses an administrator typed in, so they
// must not become a way into the host's own network (SSRF). The policy is
// applied to the IP actually dialed, inside net.Dialer's Control hook, so a
// DNS answer that changes between checks (rebinding) cannot slip past it.
// Proxy environment variables (HTTP_PROXY, HTTPS_PROXY) are ignored for
// deliveries: a proxy would dial on our behalf and bypass the check.

// blockedRange is a range refused by default, with the reason shown.
type blockedRange struct {
	prefix netip.Prefix
	class  string
}

var (
	// metadataAddrs are cloud metadata services: refused even when an
	// allow entry covers them.
	metadataAddrs = []netip.Prefix{
		netip.MustParsePrefix("169.254.169.254/32"), // AWS, GCP, Azure, OpenStack
		netip.MustParsePrefix("169.254.170.2/32"),   // AWS ECS task metadata
		netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS IPv6
		netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud
		netip.MustParsePrefix("168.63.129.16/32"),   // Azure wire server
	}
	blockedRanges = []blockedRange{
		{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
		{netip.MustParsePrefix("::1/128"), "loopback"},
		{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
		{netip.MustParsePrefix("::/128"), "unspecified"},
		{netip.MustParsePrefix("10.0.0.0/8"), "private"},
		{netip.MustParsePrefix("172.16.0.0/12"), "private"},
		{netip.MustParsePrefix("192.168.0.0/16"), "private"},
		{netip.MustParsePrefix("fc00::/7"), "private"},
		{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
		{netip.MustParsePrefix("fe80::/10"), "link-local"},
		{netip.MustParsePrefix("100.64.0.0/10"), "cgnat"},
		{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
		{netip.MustParsePrefix("ff00::/8"), "multicast"},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // includes 255.255.255.255
		{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
		{netip.MustParsePrefix("192.0.2.0/24"), "reserved"},
		{netip.MustParsePrefix("198.18.0.0/15"), "reserved"}, // benchmarking
		{netip.MustParsePrefix("198.51.100.0/24"), "reserved"},
		{netip.MustParsePrefix("203.0.113.0/24"), "reserved"},
		{netip.MustParsePrefix("2001:db8::/32"), "reserved"},
		{netip.MustParsePrefix("100::/64"), "reserved"},
		{netip.MustParsePrefix("fec0::/10"), "reserved"},
		{netip.MustParsePrefix("::/96"), "reserved"}, // IPv4-compatible
		{netip.MustParsePrefix("64:ff9b:1::/48"), "reserved"},
	}
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// classKeywords may appear in the allow list instead of CIDRs.
var classKeywords = map[string]bool{"loopback": true, "private": true, "link-local": true, "cgnat": true}

// BlockedError is a delivery refused by the address policy.
type BlockedError struct {
	Host  string
	IP    netip.Addr
	Class string
}

func (e *BlockedError) Error() string {
	if e.Class == "metadata" {
		return fmt.Sprintf("refusing to connect to %s (%s): cloud metadata address, never allowed", e.Host, e.IP)
	}
	if e.Class == "numeric" {
		return fmt.Sprintf("refusing to connect to %q: a numeric host in a non-standard form; write the IP address plainly", e.Host)
	}
	return fmt.Sprintf("refusing to connect to %s (%s): %s address; allow it with --allow-outgoing (env CHATBOT_ALLOW_OUTGOING)", e.Host, e.IP, e.Class)
}

// AddrPolicy decides which addresses deliveries may connect to.
type AddrPolicy struct {
	prefixes []netip.Prefix
	hosts    map[string]bool
	classes  map[string]bool
	// ownAddrs lists the host's interface addresses (its own public IP
	// reaches loopback listeners too); tests replace it.
	ownAddrs func() []netip.Addr
}

// ParseAllowList reads --allow-outgoing: comma-separated CIDRs, IPs, host
// names, or the classes loopback, private, link-local and cgnat. Metadata
// addresses stay refused whatever the list says.
func ParseAllowList(list string) (*AddrPolicy, error) {
	p := &AddrPolicy{hosts: map[string]bool{}, classes: map[string]bool{}, ownAddrs: interfaceAddrs}
	for _, item := range strings.Split(list, ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		switch {
		case item == "":
		case classKeywords[item]:
			p.classes[item] = true
		case strings.Contains(item, "/"):
			pfx, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("--allow-outgoing: %q is not a CIDR", item)
			}
			p.prefixes = append(p.prefixes, pfx.Masked())
		default:
			if ip, err := netip.ParseAddr(strings.Trim(item, "[]")); err == nil {
				p.prefixes = append(p.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
				continue
			}
			if !validHostname(item) {
				return nil, fmt.Errorf("--allow-outgoing: %q is not a host name, IP or CIDR", item)
			}
			p.hosts[strings.TrimSuffix(item, ".")] = true
		}
	}
	return p, nil
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func interfaceAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

// classify names the blocked class of ip, or "" when it is public. IPv4
// embedded in IPv6 (mapped, NAT64, 6to4) is judged by its IPv4 address.
func classify(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	for _, m := range metadataAddrs {
		if m.Contains(ip) {
			return "metadata"
		}
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			return classify(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(ip):
			return classify(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(ip) {
			return r.class
		}
	}
	return ""
}

// Check decides whether a connection to ip, reached through host, is
// allowed. hostAllowed says host itself is on the allow list.
func (p *AddrPolicy) Check(host string, ip netip.Addr, hostAllowed bool) error {
	ip = ip.Unmap().WithZone("")
	class := classify(ip)
	if class == "metadata" {
		return &BlockedError{Host: host, IP: ip, Class: class}
	}
	if hostAllowed || p.classes[class] {
		return nil
	}
	for _, pfx := range p.prefixes {
		if pfx.Contains(ip) {
			return nil
		}
	}
	if class != "" {
		return &BlockedError{Host: host, IP: ip, Class: class}
	}
	if p.ownAddrs != nil {
		for _, own := range p.ownAddrs() {
			if own == ip {
				return &BlockedError{Host: host, IP: ip, Class: "this host's own"}
			}
		}
	}
	return nil
}

// CheckURLHost decides, before any connection, whether an outgoing URL's
// host (url.Hostname: no brackets) can be delivered to: an IP literal or
// localhost that Check would refuse, or a numeric form, is refused now.
// Other host names are allowed here; Check runs on the addresses they
// resolve to when delivering.
func (p *AddrPolicy) CheckURLHost(host string) error {
	if p.HostAllowed(host) {
		return nil
	}
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if numericHost(h) {
		return &BlockedError{Host: host, Class: "numeric"}
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return p.Check(host, netip.AddrFrom4([4]byte{127, 0, 0, 1}), false)
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		return p.Check(host, ip, false)
	}
	return nil
}

// HostAllowed reports whether host is named on the allow list.
func (p *AddrPolicy) HostAllowed(host string) bool {
	return p.hosts[strings.TrimSuffix(strings.ToLower(host), ".")]
}

// numericHost matches hosts such as "2130706433", "0x7f000001" or "127.1":
// numbers that some resolvers read as IPs but netip does not.
func numericHost(host string) bool {
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" {
			continue
		}
		l := strings.ToLower(label)
		if strings.HasPrefix(l, "0x") {
			continue
		}
		for _, c := range l {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// Resolver looks up host names; *net.Resolver is one, tests pass a stub.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

type ctxKeyHostAllowed struct{}

// Dialer resolves the host itself, checks every IP against the policy
// and dials them in order; net.Dialer's Control checks the dialed IP again.
type Dialer struct {
	policy   *AddrPolicy
	resolver Resolver
	dialer   net.Dialer
	// Connect opens a connection to an "ip:port" the policy allowed; it is
	// dialer.DialContext (whose Control checks the IP once more). Tests
	// replace it to see which IPs are dialed without reaching outside hosts.
	Connect func(ctx context.Context, network, address string) (net.Conn, error)
}

// NewDialer returns a dialer that connects only where policy allows
// (resolver nil: net.DefaultResolver).
func NewDialer(policy *AddrPolicy, resolver Resolver) *Dialer {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	d := &Dialer{policy: policy, resolver: resolver}
	d.dialer.ControlContext = d.Control
	d.Connect = d.dialer.DialContext
	return d
}

// Control is net.Dialer's check of the IP about to be dialed.
func (d *Dialer) Control(ctx context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refusing to connect to %q: not an IP address", address)
	}
	allowed, _ := ctx.Value(ctxKeyHostAllowed{}).(bool)
	return d.policy.Check(ap.Addr().String(), ap.Addr(), allowed)
}

// DialContext is the transport's dial function.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if numericHost(host) {
		return nil, &BlockedError{Host: host, Class: "numeric"}
	}
	hostAllowed := d.policy.HostAllowed(host)
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if ips, err = d.resolver.LookupNetIP(ctx, "ip", host); err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	ctx = context.WithValue(ctx, ctxKeyHostAllowed{}, hostAllowed)
	var errs []error
	for _, ip := range ips {
		if err := d.policy.Check(host, ip, hostAllowed); err != nil {
			errs = append(errs, err)
			continue
		}
		conn, err := d.Connect(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}
