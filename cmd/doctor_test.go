package cmd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/chatbot/chatbot/store"
)

// writeCert writes a self-signed certificate valid until notAfter and its
// key; keyOf, when given, writes another key instead (a mismatched pair).
func writeCert(t *testing.T, notAfter time.Time, mismatched bool) (certPath, keyPath string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bot.example.com"},
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter, DNSNames: []string{"bot.example.com"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if mismatched {
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certPath, keyPath
}

// platform is a receiver whose clock is off by skew.
func platform(t *testing.T, skew time.Duration) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(skew).UTC().Format(http.TimeFormat))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// ollamaWithModels lists the given models.
func ollamaWithModels(t *testing.T, models ...string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/version":
			w.Write([]byte(`{"version":"0.9.0"}`))
		case "/api/tags":
			var list []string
			for _, m := range models {
				list = append(list, `{"name":"`+m+`","model":"`+m+`"}`)
			}
			w.Write([]byte(`{"models":[` + strings.Join(list, ",") + `]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

type doctorSetup struct {
	dir  string
	env  map[string]string
	args []string
}

// healthySetup is a set-up where every check passes: a seeded data
// directory, a platform on loopback with the right time, Ollama with its
// model, TLS files, an admin token and scheduled backups.
func healthySetup(t *testing.T) doctorSetup {
	p := platform(t, 0)
	dir := seedDataDirURL(t, p.URL+"/hook")
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cert, key := writeCert(t, time.Now().Add(90*24*time.Hour), false)
	return doctorSetup{
		dir: dir,
		env: map[string]string{"CHATBOT_ADMIN_TOKEN": backupAdmin},
		args: []string{"--data-dir", dir, "--allow-outgoing", "127.0.0.0/8", "--llm", "ollama", "--ollama-host", ollamaWithModels(t, "llama3.2:latest"),
			"--embedder", "builtin", "--tls-cert", cert, "--tls-key", key, "--backup-every", "24h", "--backup-dir", t.TempDir()},
	}
}

func (s doctorSetup) run(t *testing.T) (string, error) {
	t.Helper()
	out, _, err := run(t, mapEnv(s.env), append([]string{"doctor"}, s.args...)...)
	return out, err
}

// set replaces a flag's value in args, or adds it.
func (s *doctorSetup) set(flag, value string) {
	for i := range s.args {
		if s.args[i] == flag {
			s.args[i+1] = value
			return
		}
	}
	s.args = append(s.args, flag, value)
}

func TestDoctorHealthySetupPasses(t *testing.T) {
	s := healthySetup(t)
	out, err := s.run(t)
	if err != nil {
		t.Fatalf("doctor failed on a healthy set-up: %v\n%s", err, out)
	}
	for _, want := range []string{
		"[ok  ] configuration", "[ok  ] data dir", "[ok  ] secret key", "[ok  ] key matches", "[ok  ] database",
		"[ok  ] answering     Ollama 0.9.0", "[ok  ] integrations  integration Zendesk", "resolves to an allowed address",
		"[ok  ] TLS", "[ok  ] admin token", "[ok  ] clock", "[ok  ] backups", "all checks passed (0 warnings)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "[FAIL]") || strings.Contains(out, "[warn]") || strings.Contains(out, "[skip]") {
		t.Errorf("a healthy set-up reported problems:\n%s", out)
	}
}

// Each broken set-up fails the right check with the right advice, and the
// command exits non-zero.
func TestDoctorBrokenSetups(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(t *testing.T, s *doctorSetup)
		line    string // the failing check's line
		fix     string // what it tells the operator to do
	}{
		{"data dir is a file", func(t *testing.T, s *doctorSetup) {
			f := filepath.Join(t.TempDir(), "file")
			os.WriteFile(f, nil, 0o600)
			s.set("--data-dir", f)
		}, "[FAIL] data dir", "point --data-dir (CHATBOT_DATA_DIR) at a directory"},
		{"key readable by others", func(t *testing.T, s *doctorSetup) {
			os.Chmod(filepath.Join(s.dir, "secret.key"), 0o644)
		}, "[FAIL] secret key", "chmod 600"},
		{"key missing beside a database", func(t *testing.T, s *doctorSetup) {
			os.Remove(filepath.Join(s.dir, "secret.key"))
		}, "its stored secrets cannot be read", "put the original secret.key back"},
		{"wrong key", func(t *testing.T, s *doctorSetup) {
			s.env["CHATBOT_SECRET_KEY"] = secretKeyB64(4)
		}, "[FAIL] key matches", "start with the key this database was created with"},
		{"damaged database", func(t *testing.T, s *doctorSetup) {
			p := filepath.Join(s.dir, store.FileName)
			fi, _ := os.Stat(p)
			os.Truncate(p, fi.Size()/2)
		}, "[FAIL] database", "chatbot restore your latest backup"},
		{"database from a newer release", func(t *testing.T, s *doctorSetup) {
			db, err := bolt.Open(filepath.Join(s.dir, store.FileName), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), []byte{0, 0, 0, 0, 0, 0, 0, 99})
			})
			db.Close()
		}, "written by a newer chatbot: schema version 99", "run the chatbot release that wrote it"},
		{"Ollama down", func(t *testing.T, s *doctorSetup) {
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			addr := ln.Addr().String()
			ln.Close()
			s.set("--ollama-host", addr)
		}, "[FAIL] answering     Ollama at http://127.0.0.1", "start it (systemctl start ollama"},
		{"one Ollama of two down", func(t *testing.T, s *doctorSetup) {
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			addr := ln.Addr().String()
			ln.Close()
			s.set("--ollama-host", ollamaWithModels(t, "llama3.2:latest")+","+addr)
		}, "[FAIL] answering     Ollama at http://" + "127.0.0.1:", "start it (systemctl start ollama"},
		{"model not pulled", func(t *testing.T, s *doctorSetup) {
			s.set("--ollama-host", ollamaWithModels(t, "mistral:latest"))
		}, "lacks a model", "ollama pull llama3.2"},
		{"outgoing URL not allowed", func(t *testing.T, s *doctorSetup) {
			s.set("--allow-outgoing", "10.0.0.0/8")
		}, "[FAIL] integrations  integration Zendesk", "--allow-outgoing HOST|CIDR"},
		{"outgoing URL does not resolve", func(t *testing.T, s *doctorSetup) {
			st, err := openStoreForCLI(mapEnv(nil), s.dir)
			if err != nil {
				t.Fatal(err)
			}
			st.UpdateConfig(1, func(c *store.WebhookConfig) error { c.OutgoingURL = "https://no-such-host.invalid/hook"; return nil })
			st.Close()
		}, "cannot resolve no-such-host.invalid", "fix the URL"},
		{"TLS key does not match", func(t *testing.T, s *doctorSetup) {
			cert, key := writeCert(t, time.Now().Add(90*24*time.Hour), true)
			s.set("--tls-cert", cert)
			s.set("--tls-key", key)
		}, "[FAIL] TLS", "the key belongs to the certificate"},
		{"TLS certificate expired", func(t *testing.T, s *doctorSetup) {
			cert, key := writeCert(t, time.Now().Add(-time.Hour), false)
			s.set("--tls-cert", cert)
			s.set("--tls-key", key)
		}, "[FAIL] TLS           certificate expired", "renew it"},
		{"clock off", func(t *testing.T, s *doctorSetup) {
			p := platform(t, -10*time.Minute)
			st, err := openStoreForCLI(mapEnv(nil), s.dir)
			if err != nil {
				t.Fatal(err)
			}
			st.UpdateConfig(1, func(c *store.WebhookConfig) error { c.OutgoingURL = p.URL + "/hook"; return nil })
			st.Close()
		}, "[FAIL] clock         10m", "sync the clock"},
		{"backup dir not writable", func(t *testing.T, s *doctorSetup) {
			f := filepath.Join(t.TempDir(), "file")
			os.WriteFile(f, nil, 0o600)
			s.set("--backup-dir", f)
		}, "[FAIL] backups", "writable by the service user"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := healthySetup(t)
			c.breakIt(t, &s)
			out, err := s.run(t)
			if err == nil || !strings.Contains(err.Error(), "checks failed") {
				t.Fatalf("doctor did not fail: %v\n%s", err, out)
			}
			if !strings.Contains(out, c.line) || !strings.Contains(out, c.fix) {
				t.Fatalf("report lacks %q with fix %q:\n%s", c.line, c.fix, out)
			}
		})
	}
}

// Without an admin token doctor warns (serve generates one) but passes;
// while serve holds the directory it asks the server instead.
func TestDoctorWarnsAndAsksTheRunningServer(t *testing.T) {
	s := healthySetup(t)
	delete(s.env, "CHATBOT_ADMIN_TOKEN")
	out, err := s.run(t)
	if err != nil || !strings.Contains(out, "[warn] admin token   none set or stored") || !strings.Contains(out, "all checks passed (1 warnings)") {
		t.Fatalf("no token: %v\n%s", err, out)
	}

	s = healthySetup(t)
	startOwnApp(t, config{DataDir: s.dir, AdminToken: backupAdmin, Embedder: "builtin", AllowOutgoing: "127.0.0.0/8"})
	out, err = s.run(t)
	if err != nil || !strings.Contains(out, "[ok  ] database      held by the running server, which reports") ||
		!strings.Contains(out, "[ok  ] integrations  integration Zendesk") {
		t.Fatalf("with a running server: %v\n%s", err, out)
	}
}

func TestHealthcheck(t *testing.T) {
	cfg := config{AdminToken: backupAdmin, Embedder: "builtin"}
	cfg.Answer.LLM = "none"
	a, _ := startOwnApp(t, cfg)
	out, _, err := run(t, mapEnv(nil), "healthcheck", "--addr", a.Addr())
	if err != nil || out != "ready\n" {
		t.Fatalf("healthcheck = %q, %v", out, err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	if _, _, err := run(t, mapEnv(nil), "healthcheck", "--addr", closed); err == nil || !strings.Contains(err.Error(), "not healthy") {
		t.Fatalf("healthcheck of nothing: %v", err)
	}
}
