package webhook

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/chatbot/chatbot/store"
)

// seqResolver gives its answers in turn, one per look-up, and counts them.
type seqResolver struct {
	mu      sync.Mutex
	answers [][]netip.Addr
	calls   int
}

func (r *seqResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.answers[min(r.calls, len(r.answers)-1)]
	r.calls++
	return a, nil
}

func (r *seqResolver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// DNS rebinding: the platform's host name resolves to a public IP for the
// first delivery and to 10.0.0.1 for the second. The second is refused
// (nothing allowed is configured) because the policy judges the IP that is
// about to be dialed, from the same look-up; 10.0.0.1 is never dialed.
// Connections to the "public" IP are redirected to a loopback receiver by
// the connect hook, so no outside host is ever called.
func TestDNSRebindingIsBlockedAtDial(t *testing.T) {
	checkNoLeak(t)
	rc := newReceiver(t, status(http.StatusOK))
	rc.srv.Config.SetKeepAlivesEnabled(false) // every delivery dials (and resolves) anew
	public := netip.MustParseAddr("93.184.216.34")
	resolver := &seqResolver{answers: [][]netip.Addr{{public}, {netip.MustParseAddr("10.0.0.1")}}}
	h := newHarness(t, "http://hooks.example.test/hook", harnessOptions{allow: "none"})

	policy, err := ParseAllowList("")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var dialed []string
	d := newSafeDialer(policy, resolver)
	d.Connect = func(ctx context.Context, network, address string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, address)
		mu.Unlock()
		var nd net.Dialer
		return nd.DialContext(ctx, network, rc.srv.Listener.Addr().String())
	}
	h.sender.client.Transport.(*http.Transport).DialContext = d.DialContext
	h.start()

	first := h.add("c1", "first")
	if r := h.waitFinal(first.MessageID); len(r) != 1 || r[0].Outcome.Status != store.StatusSent {
		t.Fatalf("first delivery (public IP) = %+v, want sent", r)
	}
	second := h.add("c2", "second")
	r := h.waitFinal(second.MessageID)
	if len(r) != 1 || r[0].Outcome.Status != store.StatusFailed || !r[0].Result.Permanent {
		t.Fatalf("second delivery (rebound to 10.0.0.1) = %+v, want one permanent failure", r)
	}
	want := "refusing to connect to hooks.example.test (10.0.0.1): private address; allow it with --allow-outgoing (env CHATBOT_ALLOW_OUTGOING)"
	if m := h.message(second.MessageID); m.LastError != want || m.LastHTTPStatus != 0 {
		t.Errorf("second: last_error %q http %d, want %q", m.LastError, m.LastHTTPStatus, want)
	}
	mu.Lock()
	got := slices.Clone(dialed)
	mu.Unlock()
	if !slices.Equal(got, []string{"93.184.216.34:80"}) {
		t.Errorf("dialed %q, want only the public IP", got)
	}
	if n := resolver.count(); n != 2 {
		t.Errorf("%d look-ups, want 2 (one per delivery)", n)
	}
	if n := len(rc.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
}

// The second line of defence: net.Dialer's Control hook judges the
// address the socket connects to, whatever resolved it.
func TestDialControlChecksTheConnectedIP(t *testing.T) {
	p, _ := ParseAllowList("")
	d := newSafeDialer(p, nil)
	ctx := context.Background()
	for addr, blocked := range map[string]bool{
		"10.0.0.1:80": true, "127.0.0.1:443": true, "[::ffff:169.254.169.254]:80": true,
		"[fe80::1]:80": true, "93.184.216.34:80": false, "[2606:2800:220:1::]:443": false,
	} {
		err := d.Control(ctx, "tcp", addr, nil)
		if blocked != isBlocked(err) || (!blocked && err != nil) {
			t.Errorf("control(%s) = %v, want blocked %v", addr, err, blocked)
		}
	}
}
