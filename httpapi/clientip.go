package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP is the one answer to "who is this client" for every route that
// counts or limits per client (the webhook's failure throttle and rates,
// the widget's limiter, the admin login lockout and token throttle): the
// request's peer address or, when the peer is a trusted proxy, the nearest
// address in X-Forwarded-For that is not one. The right-most entries were
// added by our own proxies; the rest by whoever the client is, so they
// cannot be believed.
//
// Each X-Forwarded-For element is read the same way wherever it is used:
// spaces around it are dropped; an empty element (",,", a trailing comma,
// an empty header) says nothing and is skipped; "1.2.3.4:80" and
// "[2001:db8::1]:80" lose their port (some proxies append it); an IPv6
// zone is dropped (it means nothing off the sender's host and would let
// one client count as many); IPv4-mapped IPv6 is unmapped. Anything else
// is garbled: nothing left of it is trusted, and the client is the last
// trusted hop. An unparsable peer is the zero Addr.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	addr, ok := parseHop(r.RemoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if !InPrefixes(addr, trusted) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		s := strings.TrimSpace(hops[i])
		if s == "" {
			continue
		}
		hop, ok := parseHop(s)
		if !ok {
			return addr // a garbled entry: trust nothing before it
		}
		addr = hop
		if !InPrefixes(addr, trusted) {
			return addr
		}
	}
	return addr
}

// parseHop reads one address as ClientIP does: bare, bracketed or with a
// port; zone dropped, IPv4-mapped unmapped.
func parseHop(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		host := s
		if h, _, err := net.SplitHostPort(s); err == nil {
			host = h
		} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			host = s[1 : len(s)-1]
		}
		if a, err = netip.ParseAddr(host); err != nil || host == s {
			return netip.Addr{}, false
		}
	}
	return a.WithZone("").Unmap(), true
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
