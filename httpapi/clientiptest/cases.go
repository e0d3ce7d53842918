// Package clientiptest holds the X-Forwarded-For chains every caller of
// httpapi.ClientIP is tested against, so that the webhook, the widget and
// the admin login are shown to name the same client for the same header.
package clientiptest

import "net/netip"

// Trusted are the proxies of the cases: loopback (the peer of every test
// over httptest) and 10.0.0.0/8.
var Trusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}

// Case is one request from the loopback peer: its X-Forwarded-For header
// lines and the client ClientIP must name.
type Case struct {
	Name string
	XFF  []string
	Want string
}

// Cases are the garbled and ordinary chains.
var Cases = []Case{
	{"no header", nil, "127.0.0.1"},
	{"one proxy", []string{"198.51.100.1"}, "198.51.100.1"},
	{"more hops than trusted", []string{"192.0.2.7, 198.51.100.1, 10.1.2.3"}, "198.51.100.1"},
	{"all hops trusted", []string{"10.0.0.1, 10.0.0.2"}, "10.0.0.1"},
	{"garbage in the middle", []string{"198.51.100.1, garbage, 10.1.2.3"}, "10.1.2.3"},
	{"garbage right-most", []string{"198.51.100.1, garbage"}, "127.0.0.1"},
	{"invalid address", []string{"198.51.100.1, 999.1.1.1"}, "127.0.0.1"},
	{"nginx unknown", []string{"unknown"}, "127.0.0.1"},
	{"hostname", []string{"client.example"}, "127.0.0.1"},
	{"two ports", []string{"198.51.100.1:80:90"}, "127.0.0.1"},
	{"empty element", []string{"198.51.100.2,,10.1.2.3"}, "198.51.100.2"},
	{"trailing comma", []string{"198.51.100.3, "}, "198.51.100.3"},
	{"empty header", []string{""}, "127.0.0.1"},
	{"spaces and tabs", []string{" \t198.51.100.4 \t"}, "198.51.100.4"},
	{"IPv4 with port", []string{"198.51.100.5:4711"}, "198.51.100.5"},
	{"trusted hop with port", []string{"198.51.100.6, 10.1.2.3:80"}, "198.51.100.6"},
	{"IPv6", []string{"2001:db8::6"}, "2001:db8::6"},
	{"IPv6 bracketed with port", []string{"[2001:db8::7]:443"}, "2001:db8::7"},
	{"IPv6 bracketed", []string{"[2001:db8::8]"}, "2001:db8::8"},
	{"IPv6 with zone", []string{"fe80::9%eth0"}, "fe80::9"},
	{"IPv6 with zone and port", []string{"[fe80::a%eth0]:80"}, "fe80::a"},
	{"IPv4-mapped IPv6", []string{"::ffff:198.51.100.9"}, "198.51.100.9"},
	{"two header lines", []string{"192.0.2.1", "198.51.100.10"}, "198.51.100.10"},
	{"two header lines, trusted last", []string{"198.51.100.11", "10.0.0.3"}, "198.51.100.11"},
}
