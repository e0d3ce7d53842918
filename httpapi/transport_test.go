package httpapi

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// A body that does not arrive within the server's ReadTimeout is answered
// 408, not 400. The client writes the headers and part of the body, then
// only waits for the server's answer.
func TestSlowBodyIs408(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var dst sample
		if err := Decode(w, r, DefaultBodyLimit, &dst); err != nil {
			Error(w, r, nil, err)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	}))
	srv.Config.ReadTimeout = 300 * time.Millisecond // the behaviour under test
	srv.Start()
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Only a safety net for a broken server; the answer comes at ReadTimeout.
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	const want = `{"success":false,"error":"request body arrived too slowly; send it within the server's read timeout"}` + "\n"
	if resp.StatusCode != http.StatusRequestTimeout || string(b) != want {
		t.Fatalf("got %d %q, want 408 %q", resp.StatusCode, b, want)
	}
}

func hstsOf(t *testing.T, client *http.Client, url string, header ...string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("security headers missing: %v", resp.Header)
	}
	return resp.Header.Get("Strict-Transport-Security")
}

// Strict-Transport-Security goes out over TLS, and over plain HTTP only
// when a trusted proxy says the client used HTTPS.
func TestHSTS(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	tlsSrv := httptest.NewTLSServer(SecurityHeaders(ok))
	defer tlsSrv.Close()
	if got := hstsOf(t, tlsSrv.Client(), tlsSrv.URL); got != "max-age=31536000" {
		t.Errorf("over TLS: %q", got)
	}
	plain := httptest.NewServer(SecurityHeaders(ok))
	defer plain.Close()
	if got := hstsOf(t, plain.Client(), plain.URL, "X-Forwarded-Proto", "https"); got != "" {
		t.Errorf("plain HTTP, no trusted proxy, forwarded https: %q", got)
	}
	proxied := httptest.NewServer(SecurityHeadersBehind([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})(ok))
	defer proxied.Close()
	for _, c := range []struct{ proto, want string }{{"https", "max-age=31536000"}, {"HTTPS", "max-age=31536000"}, {"http", ""}, {"", ""}} {
		if got := hstsOf(t, proxied.Client(), proxied.URL, "X-Forwarded-Proto", c.proto); got != c.want {
			t.Errorf("trusted proxy, X-Forwarded-Proto %q: %q, want %q", c.proto, got, c.want)
		}
	}
	untrusted := httptest.NewServer(SecurityHeadersBehind([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})(ok))
	defer untrusted.Close()
	if got := hstsOf(t, untrusted.Client(), untrusted.URL, "X-Forwarded-Proto", "https"); got != "" {
		t.Errorf("untrusted peer, forwarded https: %q", got)
	}
}
