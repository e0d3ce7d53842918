package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The helpers of the server's own tests; cmd's tests have their twins,
// which start the server through the command line's configuration.

// testConfig fills in what a test leaves out: a free loopback port, a temp
// data directory, quick retries, a shutdown timeout.
func testConfig(t *testing.T, cfg Config) Config {
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
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startApp starts the server on a free loopback port and stops it at
// cleanup; the buffer holds the one-time admin token notice.
func startApp(t *testing.T, cfg Config) (*Server, *bytes.Buffer) {
	t.Helper()
	sa := buildApp(t, cfg)
	sa.start()
	waitHealthy(t, "http://"+sa.Addr())
	return sa.Server, &sa.out
}

// servedApp is a server that a test starts and stops itself, with its log.
type servedApp struct {
	*Server
	out    bytes.Buffer // the one-time admin token notice
	logs   syncBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// buildApp builds the server (listening, not yet serving) so a test can
// look at or adjust it before start; it is stopped at cleanup.
func buildApp(t *testing.T, cfg Config) *servedApp {
	t.Helper()
	cfg = testConfig(t, cfg)
	sa := &servedApp{}
	cfg.Log, cfg.Out = slog.New(slog.NewTextHandler(&sa.logs, nil)), &sa.out
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	sa.Server = s
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

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
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

// apiCall sends body as JSON with a bearer token and returns the status
// and the raw answer.
func apiCall(t testing.TB, method, url, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// apiJSON is apiCall for an answer that must be a JSON object.
func apiJSON(t testing.TB, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	status, data := apiCall(t, method, url, token, body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s %s: %d %q is not a JSON object", method, url, status, data)
	}
	return status, m
}

// scrape reads /metrics into sample -> value, a sample being the metric
// name with its labels as written ("chatbot_x{reason=\"y\"}").
func scrape(t *testing.T, base, token string) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/metrics: %d", res.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}
