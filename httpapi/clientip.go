package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP is the request's peer address, or, when the peer is a trusted
// proxy, the nearest address in X-Forwarded-For that is not one: the
// right-most entries were added by our own proxies, the rest by whoever
// the client is and cannot be believed. An unparsable peer is the zero Addr.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	addr = addr.Unmap()
	if !InPrefixes(addr, trusted) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr // a garbled entry: trust nothing before it
		}
		addr = hop.Unmap()
		if !InPrefixes(addr, trusted) {
			return addr
		}
	}
	return addr
}

// InPrefixes reports whether a is in any of ps.
func InPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ThrottleKey is the key a client's failures count under: an IPv4 address
// as is, an IPv6 one by its /64, which one host usually holds whole, so
// rotating addresses inside it does not reset the count. Text that is not
// an address is its own key.
func ThrottleKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() || a.Is4In6() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}
