//go:build unix

package ollamatest

import (
	"context"
	"fmt"
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

// Model names created by CreateModels.
const (
	ChatModel  = "tinychat"
	EmbedModel = "tinyembed"
)

// Binary finds the ollama executable: on PATH, else in $GOPATH/bin where
// .ci/ollama.sh installs it.
func Binary() (string, bool) {
	if p, err := exec.LookPath("ollama"); err == nil {
		return p, true
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	p := filepath.Join(gopath, "bin", "ollama")
	if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
		return p, true
	}
	return "", false
}

// Server is a real `ollama serve` with its own HOME and model directory,
// on a free loopback port. Stop kills it and its runner children.
type Server struct {
	URL  string // http://127.0.0.1:port
	bin  string
	dir  string
	host string // 127.0.0.1:port
	cmd  *exec.Cmd
	log  *os.File
	t    testing.TB
}

// Start runs ollama serve, or skips the test when there is no ollama
// binary (fails instead when CHATBOT_REQUIRE_OLLAMA=1, as CI sets it once
// it has built the binary). The server is stopped at the test's cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, ok := Binary()
	if !ok {
		const why = "ollama binary not found on PATH or in $GOPATH/bin; run .ci/ollama.sh to build it (go install github.com/ollama/ollama@v0.6.5)"
		if os.Getenv("CHATBOT_REQUIRE_OLLAMA") == "1" {
			t.Fatal("CHATBOT_REQUIRE_OLLAMA=1: " + why) // CI installed it: a skip would hide a broken test
		}
		t.Skip(why)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := ln.Addr().String()
	ln.Close()
	s := &Server{URL: "http://" + host, bin: bin, dir: t.TempDir(), host: host, t: t}
	for _, d := range []string{"home", "models"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(s.Stop)
	s.Restart()
	return s
}

func (s *Server) env() []string {
	return append(os.Environ(),
		"HOME="+filepath.Join(s.dir, "home"), // ollama writes a key pair there
		"OLLAMA_MODELS="+filepath.Join(s.dir, "models"),
		"OLLAMA_HOST="+s.host,
		"OLLAMA_NOPRUNE=1",
		"OLLAMA_NUM_PARALLEL=2",
		"OLLAMA_KEEP_ALIVE=10m",
	)
}

// Restart starts the server (again) on the same port and waits until it
// answers.
func (s *Server) Restart() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("ollamatest: Restart while running")
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "serve.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(s.bin, "serve")
	cmd.Env = s.env()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // runners join its group
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.t.Fatalf("start ollama serve: %v", err)
	}
	s.cmd, s.log = cmd, logf
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/version", nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("ollama serve did not answer within 20 s: %v\n%s", err, s.Log())
		}
		time.Sleep(50 * time.Millisecond) // polling a child process; no event to wait on
	}
}

// Stop kills the server and its runner children (the whole process group)
// and waits for it. It is idempotent.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.log.Close()
	s.cmd = nil
}

// Log returns the server's log so far, for failure messages.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "serve.log"))
	const tail = 4000
	if len(b) > tail {
		b = b[len(b)-tail:]
	}
	return string(b)
}

// CreateModels writes the tiny chat and embedding models and registers them
// with `ollama create` as ChatModel and EmbedModel.
func (s *Server) CreateModels() {
	s.t.Helper()
	chat := filepath.Join(s.dir, "chat.gguf")
	emb := filepath.Join(s.dir, "embed.gguf")
	if err := WriteChatModel(chat, 1); err != nil {
		s.t.Fatal(err)
	}
	if err := WriteEmbedModel(emb, 1); err != nil {
		s.t.Fatal(err)
	}
	// One thread: on a small shared CI machine two threads spin-wait on
	// each other and a 16-token answer takes a second instead of 10 ms.
	// A fixed seed makes the noise repeatable from run to run.
	s.create(ChatModel, fmt.Sprintf("FROM %s\n%s\nPARAMETER num_ctx 512\nPARAMETER num_thread 1\nPARAMETER seed 42\n", chat, chatTemplate))
	s.create(EmbedModel, fmt.Sprintf("FROM %s\nPARAMETER num_ctx 256\nPARAMETER num_thread 1\n", emb))
}

// chatTemplate renders the messages; the GGUF has none of its own.
const chatTemplate = `TEMPLATE """{{- range .Messages }}<|{{ .Role }}|>
{{ .Content }}
{{ end }}<|assistant|>
"""`

func (s *Server) create(name, modelfile string) {
	s.t.Helper()
	path := filepath.Join(s.dir, name+".Modelfile")
	if err := os.WriteFile(path, []byte(modelfile), 0o600); err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(s.bin, "create", name, "-f", path)
	cmd.Env = s.env()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "success") {
		s.t.Fatalf("ollama create %s: %v\n%s\n%s", name, err, out, s.Log())
	}
}

// StartMany runs n servers, each with the tiny models (as Start and
// CreateModels), for tests of load spread and fail-over across hosts. Each
// has its own port, home and model directory, so one can be stopped and
// restarted alone.
func StartMany(t testing.TB, n int) []*Server {
	t.Helper()
	out := make([]*Server, n)
	for i := range out {
		out[i] = Start(t)
		out[i].CreateModels()
	}
	return out
}

// HostList is the servers' URLs, comma-separated, as OLLAMA_HOST takes them.
func HostList(servers []*Server) string {
	urls := make([]string, len(servers))
	for i, s := range servers {
		urls[i] = s.URL
	}
	return strings.Join(urls, ",")
}
