package cmd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// TestMain lets a test re-run this binary as `chatbot` itself, to check the
// process's signals and exit code for real.
func TestMain(m *testing.M) {
	if args := os.Getenv("CHATBOT_TEST_EXEC_ARGS"); args != "" {
		os.Args = append([]string{"chatbot"}, strings.Split(args, "\x1f")...)
		os.Exit(Execute())
	}
	os.Exit(m.Run())
}

func TestServeExitsZeroOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "CHATBOT_TEST_EXEC_ARGS="+strings.Join([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, "\x1f"),
		"CHATBOT_ADMIN_TOKEN=admin-token-0123456789abcdef")
	stderr, err := child.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the "serving" log line, then send SIGTERM.
	sc := bufio.NewScanner(stderr)
	served := false
	var logs []string
	for sc.Scan() {
		logs = append(logs, sc.Text())
		if strings.Contains(sc.Text(), "msg=serving") {
			served = true
			break
		}
	}
	if !served {
		child.Process.Kill()
		t.Fatalf("server never said it serves: %q", logs)
	}
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		logs = append(logs, sc.Text())
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v; logs %q", err, logs)
	}
	if !strings.Contains(strings.Join(logs, "\n"), "msg=stopped") {
		t.Fatalf("no orderly stop in logs: %q", logs)
	}
	for _, l := range logs {
		if strings.Contains(l, "admin-token-0123456789abcdef") {
			t.Fatalf("log line contains the admin token: %q", l)
		}
	}
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	a, _ := startAppTLS(t, config{TLSCert: certFile, TLSKey: keyFile})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + a.Addr() + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("HTTPS healthz: %d tls=%v", resp.StatusCode, resp.TLS != nil)
	}
}

func writeSelfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// servedApp is an app that a test starts and stops itself, with its log.
type servedApp struct {
	*app
	out    bytes.Buffer // the one-time admin token notice, written by newApp
	logs   syncBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// buildApp builds the app (listening, not yet serving) so a test can look
// at or adjust it before start; it is stopped at cleanup.
func buildApp(t *testing.T, cfg config) *servedApp {
	t.Helper()
	cfg = testConfig(t, cfg)
	sa := &servedApp{}
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(&sa.logs, nil)), &sa.out)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	sa.app = a
	t.Cleanup(func() {
		if sa.done == nil {
			sa.start() // Run owns the shutdown sequence
		}
		if err := sa.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return sa
}

func (sa *servedApp) start() {
	ctx, cancel := context.WithCancel(context.Background())
	sa.cancel, sa.done = cancel, make(chan error, 1)
	go func() { sa.done <- sa.Run(ctx) }()
}

// stop ends Run's context and returns what Run returned.
func (sa *servedApp) stop() error {
	sa.once.Do(func() { sa.cancel(); sa.err = <-sa.done })
	return sa.err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// generatedAdminToken finds the token serve printed on its first start.
func generatedAdminToken(t *testing.T, out string) string {
	t.Helper()
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "cba_") {
			return f
		}
	}
	t.Fatalf("no generated admin token in %q", out)
	return ""
}

func postJSON(t *testing.T, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return resp.StatusCode, m
}

// The admin token and the incoming tokens are kept only as SHA-256 hashes,
// and the outgoing secrets only sealed: none of them is anywhere in the
// data directory's files in the clear (the key file aside).
func TestTokensAreStoredOnlyAsHashes(t *testing.T) {
	dir := t.TempDir()
	sa := buildApp(t, config{DataDir: dir})
	sa.start()
	base := "http://" + sa.Addr()
	waitHealthy(t, base)
	admin := generatedAdminToken(t, sa.out.String())
	const (
		name           = "Stored Only As Hashes"
		authToken      = "outgoing-auth-PLAINTEXT-7d1e9b"
		headerValue    = "header-secret-PLAINTEXT-4c2a"
		incomingSecret = "whsec_aW5jb21pbmctc2VjcmV0LVBMQUlOVEVYVC0wMTIzNDU2" // 36 bytes
	)
	status, res := postJSON(t, base+"/api/webhook/config", admin, `{"name":"`+name+`","provider":"freshchat",
		"outgoing_webhook_url":"https://platform.example/hook","auth_token":"`+authToken+`",
		"custom_headers":{"X-API-Key":"`+headerValue+`"},"incoming_secret":"`+incomingSecret+`"}`)
	if status != http.StatusCreated {
		t.Fatalf("create with the generated admin token: %d %v", status, res)
	}
	cfg := res["config"].(map[string]any)
	incoming, signing := cfg["incoming_token"].(string), cfg["signing_secret"].(string)
	if !strings.HasPrefix(incoming, "cbi_") || !strings.HasPrefix(signing, "whsec_") {
		t.Fatalf("create response lacks the full tokens: incoming %d chars, signing %d chars", len(incoming), len(signing))
	}
	if err := sa.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	db, err := os.ReadFile(filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	// The searches below can fail: the file holds the hashes of exactly
	// these tokens, and its plain fields are readable in the raw bytes.
	for what, s := range map[string]string{
		"the admin token's hash": secret.Hash(admin), "the incoming token's hash": secret.Hash(incoming), "the config's name": name,
	} {
		if !bytes.Contains(db, []byte(s)) {
			t.Errorf("%s is not in %s: this test does not see the file's contents", what, store.FileName)
		}
	}
	secrets := map[string]string{
		"admin token": admin, "incoming token": incoming, "auth_token": authToken,
		"custom header value": headerValue, "signing secret": signing, "incoming secret": incomingSecret,
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		if filepath.Base(f) == secret.KeyFileName {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a directory (the index), walked by nothing here
		}
		for what, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds the %s in the clear", filepath.Base(f), what) // never print the secret itself
			}
		}
	}
}

// A request in flight when shutdown begins is answered in full, the new
// connections are refused meanwhile, and Run returns nil once it is done.
func TestShutdownDrainsARequestInFlight(t *testing.T) {
	const admin = "admin-token-drain-0123456789"
	sa := buildApp(t, config{AdminToken: admin})
	// Wait until the handler runs, not only until the headers are read:
	// net/http drops a request whose handler has not started when
	// shutdown begins (and start() probes the server on connections of
	// its own), so an earlier signal made this test race the server.
	inHandler := make(chan struct{})
	var once sync.Once
	next := sa.server.Handler
	sa.server.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/webhook/config" {
			once.Do(func() { close(inHandler) })
		}
		next.ServeHTTP(w, r)
	})
	shuttingDown := make(chan struct{})
	sa.server.RegisterOnShutdown(func() { close(shuttingDown) })
	sa.start()

	conn, err := net.Dial("tcp", sa.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"Drained","provider":"freshchat"}`
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /api/webhook/config HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", sa.Addr(), admin, len(body), body[:half])
	waitFor(t, inHandler, "the request's handler to start")
	sa.cancel()
	waitFor(t, shuttingDown, "shutdown to begin")
	if c, err := net.Dial("tcp", sa.Addr()); err == nil {
		c.Close()
		t.Error("a new connection was accepted after shutdown began")
	}

	io.WriteString(conn, body[half:])
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight got no response: %v", err)
	}
	var got struct {
		Config struct{ Name string } `json:"config"`
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || got.Config.Name != "Drained" || !resp.Close {
		t.Fatalf("in-flight response: %d name %q close %v; want 201, Drained, Connection: close", resp.StatusCode, got.Config.Name, resp.Close)
	}
	if err := sa.stop(); err != nil {
		t.Fatalf("Run after draining = %v, want nil (exit 0)", err)
	}
	logs := sa.logs.String()
	if strings.Contains(logs, "did not finish in time") || !strings.Contains(logs, "msg=stopped") {
		t.Fatalf("shutdown was not orderly:\n%s", logs)
	}
	// What the drained request wrote is in the store that Run closed.
	st, err := store.Open(sa.cfg.DataDir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.ConfigByName("Drained"); err != nil {
		t.Fatalf("the drained request's config: %v", err)
	}
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// The http.Server that serve builds bounds every phase of a request.
func TestServerTimeoutsAndHeaderLimit(t *testing.T) {
	sa := buildApp(t, config{})
	s := sa.server
	want := map[string]time.Duration{"ReadHeaderTimeout": 5 * time.Second, "ReadTimeout": 30 * time.Second,
		"WriteTimeout": max(90*time.Second, sa.cfg.Answer.AnswerTimeout+30*time.Second), "IdleTimeout": 120 * time.Second}
	got := map[string]time.Duration{"ReadHeaderTimeout": s.ReadHeaderTimeout, "ReadTimeout": s.ReadTimeout,
		"WriteTimeout": s.WriteTimeout, "IdleTimeout": s.IdleTimeout}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if s.WriteTimeout <= sa.cfg.Answer.AnswerTimeout {
		t.Errorf("WriteTimeout %v does not leave room for a synchronous answer (%v)", s.WriteTimeout, sa.cfg.Answer.AnswerTimeout)
	}
	if s.MaxHeaderBytes != 64<<10 {
		t.Errorf("MaxHeaderBytes = %d, want %d", s.MaxHeaderBytes, 64<<10)
	}
	sa.start()
	req, _ := http.NewRequest("GET", "http://"+sa.Addr()+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 80<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("80 KB of headers: %d, want 431", resp.StatusCode)
	}
}

// A client that sends its headers slowly (slowloris) is cut off after
// ReadHeaderTimeout, here shortened from serve's 5 s.
func TestSlowHeadersAreCutOff(t *testing.T) {
	sa := buildApp(t, config{})
	sa.server.ReadHeaderTimeout = 200 * time.Millisecond
	sa.start()
	conn, err := net.Dial("tcp", sa.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: chatbot\r\nX-Slow: a") // and never the rest
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(make([]byte, 1))
	if n != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		t.Fatalf("slow headers: read %d bytes, %v; want the server to close the connection", n, err)
	}
	waitHealthy(t, "http://"+sa.Addr()) // the others are still served
}

// serve refuses, at start, a secret key other than the one the data
// directory's secrets were sealed with (from CHATBOT_SECRET_KEY or a
// replaced key file), saying so, instead of failing every later read of a
// secret; the original key still serves and reads them.
func TestServeRefusesAnotherSecretKey(t *testing.T) {
	dir := t.TempDir()
	const admin = "admin-token-key-check-0123456789"
	sa := buildApp(t, config{DataDir: dir, AdminToken: admin}) // key A: the generated key file
	sa.start()
	base := "http://" + sa.Addr()
	waitHealthy(t, base)
	if status, res := postJSON(t, base+"/api/webhook/config", admin, `{"name":"Sealed","provider":"freshchat","auth_token":"sealed-with-key-A-0001"}`); status != 201 {
		t.Fatalf("create: %d %v", status, res)
	}
	if err := sa.stop(); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, secret.KeyFileName)
	keyA, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	keyB := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x42}, secret.KeySize))
	want := fmt.Sprintf("open %q: the secret key does not match the one this data directory's secrets were sealed with "+
		"(CHATBOT_SECRET_KEY or %s); start with the original key: cannot decrypt stored secret: wrong CHATBOT_SECRET_KEY or damaged data", dir, keyFile)

	// Key B from the environment, in a real process: exit status 1. A
	// server that starts anyway is killed at the deadline, failing the test.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	child := exec.CommandContext(ctx, os.Args[0])
	child.Env = append(os.Environ(), "CHATBOT_TEST_EXEC_ARGS="+strings.Join([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, "\x1f"),
		"CHATBOT_ADMIN_TOKEN="+admin, "CHATBOT_SECRET_KEY="+keyB)
	out, err := child.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("serve with another CHATBOT_SECRET_KEY: %v, want exit status 1; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "Error: "+want+"\n") || strings.Contains(string(out), "panic") {
		t.Fatalf("serve with another CHATBOT_SECRET_KEY printed:\n%s\nwant the line: Error: %s", out, want)
	}
	if strings.Contains(string(out), keyB) || strings.Contains(string(out), strings.TrimSpace(string(keyA))) {
		t.Fatal("the output contains a secret key")
	}

	// Key B in a replaced key file, in-process.
	if err := os.WriteFile(keyFile, []byte(keyB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, mapEnv(nil), "serve", "--addr", "127.0.0.1:0", "--data-dir", dir); err == nil || err.Error() != want {
		t.Fatalf("serve with a replaced key file: %v\nwant: %s", err, want)
	}

	// The original key: serves, and the secret sealed with it reads back.
	if err := os.WriteFile(keyFile, keyA, 0o600); err != nil {
		t.Fatal(err)
	}
	again := buildApp(t, config{DataDir: dir, AdminToken: admin})
	again.start()
	req, _ := http.NewRequest("GET", "http://"+again.Addr()+"/api/webhook/config/1", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Config struct {
			AuthToken string `json:"auth_token"`
		} `json:"config"`
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if resp.StatusCode != 200 || got.Config.AuthToken != "****0001" {
		t.Fatalf("with the original key: %d auth_token %q", resp.StatusCode, got.Config.AuthToken)
	}
}
