package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/internal/server"
)

// mapEnv is an env backed by a map, so tests never read the real environment.
func mapEnv(m map[string]string) env { return func(k string) string { return m[k] } }

// run executes the command line in-process and returns stdout, stderr and the error.
func run(t *testing.T, e env, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCommand(e)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// startApp starts the service on a free loopback port and stops it at cleanup.
func startApp(t *testing.T, cfg config) (*app, *bytes.Buffer) {
	t.Helper()
	a, out := startAppTLS(t, cfg)
	waitHealthy(t, "http://"+a.Addr())
	return a, out
}

// startAppTLS is startApp without the plain-HTTP health wait.
func startAppTLS(t *testing.T, cfg config) (*app, *bytes.Buffer) {
	t.Helper()
	cfg = testConfig(t, cfg)
	var out bytes.Buffer
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), &out)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return a, &out
}

// testConfig fills in what a test leaves out (a free loopback port, a temp
// data directory, quick retries) and finishes cfg as serve would, with
// cfg.AdminToken as the only environment.
func testConfig(t *testing.T, cfg config) config {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.LogLevel, cfg.LogFormat = "info", "text"
	if cfg.RetryBase == 0 {
		cfg.RetryBase, cfg.RetryCap = 10*time.Millisecond, 100*time.Millisecond
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	if err := finish(&cfg, mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": cfg.AdminToken})); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond) // polling a server that is starting, not synchronising goroutines
	}
	t.Fatalf("%s never became healthy", base)
}

func TestVersion(t *testing.T) {
	out, _, err := run(t, mapEnv(nil), "version")
	if err != nil || !strings.HasPrefix(out, "chatbot dev (go") {
		t.Fatalf("version = %q, %v", out, err)
	}
}

// Every command, the root and the groups that only hold subcommands
// included, shows an example in its --help.
func TestEveryCommandHasHelpAndExample(t *testing.T) {
	root := newRootCommand(mapEnv(nil))
	all := allCommands(root)
	groups := 0
	for _, c := range all {
		if !c.Runnable() {
			groups++
		}
		if c.Example == "" {
			t.Errorf("command %q has no example", c.CommandPath())
		}
		if c.Short == "" {
			t.Errorf("command %q has no short help", c.CommandPath())
		}
		args := append(strings.Fields(c.CommandPath())[1:], "--help")
		out, _, err := run(t, mapEnv(nil), args...)
		if err != nil || !strings.Contains(out, "Examples:\n"+c.Example) {
			t.Errorf("chatbot %s: %v; output does not show the example:\n%s", strings.Join(args, " "), err, out)
		}
	}
	if all[0] != root || groups < 3 { // the root, webhook and docs
		t.Fatalf("walked %d commands, %d without Run: the root or the groups are missing", len(all), groups)
	}
}

func TestServeGeneratesAdminTokenOnceAndShutsDownCleanly(t *testing.T) {
	dir := t.TempDir()
	a, out := startApp(t, config{DataDir: dir})
	if !strings.Contains(out.String(), "Generated admin token") {
		t.Fatalf("first start did not print the admin token: %q", out)
	}
	token := ""
	for _, f := range strings.Fields(out.String()) {
		if strings.HasPrefix(f, "cba_") {
			token = f
		}
	}
	resp, err := http.Get("http://" + a.Addr() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	// The server record lets CLI commands find the server.
	var rec server.Record
	b, err := os.ReadFile(filepath.Join(dir, server.RecordFile))
	if err != nil || json.Unmarshal(b, &rec) != nil || rec.Addr != a.Addr() {
		t.Fatalf("server record = %s, %v", b, err)
	}
	// The generated token works against the management API.
	req, _ := http.NewRequest("GET", "http://"+a.Addr()+"/api/webhook/config", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin API with generated token: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}

func TestSecondStartDoesNotPrintTokenAgain(t *testing.T) {
	dir := t.TempDir()
	cfg := config{DataDir: dir, Addr: "127.0.0.1:0", LogLevel: "info", LogFormat: "text",
		RetryBase: time.Second, RetryCap: time.Minute, ShutdownTimeout: time.Second}
	for i, wantToken := range []bool{true, false} {
		var out bytes.Buffer
		a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), &out)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := a.Run(ctx); err != nil {
			t.Fatalf("start %d: Run = %v", i, err)
		}
		if got := strings.Contains(out.String(), "cba_"); got != wantToken {
			t.Fatalf("start %d printed token = %v, want %v", i, got, wantToken)
		}
		if _, err := os.Stat(filepath.Join(dir, server.RecordFile)); !os.IsNotExist(err) {
			t.Fatalf("server record left behind after shutdown: %v", err)
		}
	}
}

func TestServeFailsFastOnBusyPortAndLockedDir(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, _, err = run(t, mapEnv(nil), "serve", "--addr", ln.Addr().String(), "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("busy port: %v", err)
	}

	a, _ := startApp(t, config{})
	start := time.Now()
	_, _, err = run(t, mapEnv(nil), "serve", "--addr", "127.0.0.1:0", "--data-dir", a.cfg.DataDir)
	if err == nil || !strings.Contains(err.Error(), "another chatbot process") {
		t.Fatalf("locked dir: %v", err)
	}
	if time.Since(start) > 10*time.Second { // a hang on the lock, not scheduling noise
		t.Fatalf("locked dir took %v", time.Since(start))
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--log-level", "loud"}, nil, "--log-level"},
		{[]string{"--log-format", "xml"}, nil, "--log-format"},
		{[]string{"--tls-cert", "c.pem"}, nil, "go together"},
		{[]string{"--trusted-proxies", "10.0.0.0/33"}, nil, "--trusted-proxies"},
		{[]string{"--retry-base", "0s"}, nil, "--retry-base"},
		{nil, map[string]string{"CHATBOT_ADMIN_TOKEN": "short"}, "at least 16"},
		{nil, map[string]string{"CHATBOT_SECRET_KEY": "not-a-key"}, "CHATBOT_SECRET_KEY"},
		{[]string{"--data-dir", filepath.Join(dir, "f", "x")}, nil, "data directory"},
	}
	os.WriteFile(filepath.Join(dir, "f"), []byte("file"), 0o600)
	for _, c := range cases {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, c.args...)
		_, _, err := run(t, mapEnv(c.env), args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %v env %v: error %v, want it to mention %q", c.args, c.env, err, c.want)
		}
	}
}

func TestFlagsWinOverEnvOverDefaults(t *testing.T) {
	e := mapEnv(map[string]string{"CHATBOT_ADDR": "127.0.0.1:9999", "CHATBOT_DATA_DIR": "/env/dir", "CHATBOT_RETRY_BASE": "3s"})
	c := newServeCommand(e)
	if err := c.ParseFlags([]string{"--addr", "127.0.0.1:7777"}); err != nil {
		t.Fatal(err)
	}
	get := func(name string) string { return c.Flags().Lookup(name).Value.String() }
	if get("addr") != "127.0.0.1:7777" || get("data-dir") != "/env/dir" || get("retry-base") != "3s" || get("retry-cap") != "10m0s" {
		t.Fatalf("addr=%s data-dir=%s retry-base=%s retry-cap=%s", get("addr"), get("data-dir"), get("retry-base"), get("retry-cap"))
	}
}

// A malformed environment value fails like the same flag value would,
// naming the variable; a flag on the command line still wins over it.
func TestMalformedEnvironmentValueIsAnError(t *testing.T) {
	for key, val := range map[string]string{
		"CHATBOT_DELIVERY_WORKERS": "four", "CHATBOT_RETRY_BASE": "5", "CHATBOT_RATE_PER_MINUTE": "1e3",
	} {
		_, _, err := run(t, mapEnv(map[string]string{key: val}), "serve", "--data-dir", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "environment variable "+key+`="`+val+`" is not a valid --`) {
			t.Errorf("%s=%s: %v", key, val, err)
		}
	}
	_, _, err := run(t, mapEnv(map[string]string{"CHATBOT_DELIVERY_WORKERS": "four"}), "webhook", "list", "--data-dir", t.TempDir())
	if err != nil {
		t.Errorf("a command without the flag reads no such variable: %v", err)
	}
}
