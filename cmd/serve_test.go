package cmd

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
