package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Service is a `chatbot serve` child process on loopback.
type Service struct {
	cmd     *exec.Cmd
	base    string
	dataDir string
	exited  chan struct{}
	waitErr error
	Started time.Duration // from exec to the first 200 of /healthz
}

// Commander makes the command that runs the chatbot binary with args.
type Commander func(args ...string) *exec.Cmd

// BinaryCommander runs the binary at path.
func BinaryCommander(path string) Commander {
	return func(args ...string) *exec.Cmd { return exec.Command(path, args...) }
}

// ServiceOptions start a Service.
type ServiceOptions struct {
	Command Commander
	DataDir string
	Env     []string // added to the process environment
	Args    []string // after "serve"
	Log     io.Writer
	Timeout time.Duration // to become healthy (default 60s)
}

// serverRecord is what serve writes to <data-dir>/server.json.
type serverRecord struct {
	Addr string `json:"addr"`
	PID  int    `json:"pid"`
}

// StartService starts `BINARY serve --addr 127.0.0.1:0 --data-dir DIR ARGS...`
// and waits until /healthz answers 200.
func StartService(ctx context.Context, o ServiceOptions) (*Service, error) {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", o.DataDir}, o.Args...)
	cmd := withEnv(o.Command(args...), o.Env...)
	if o.Log != nil && o.Log != io.Discard {
		cmd.Stdout, cmd.Stderr = o.Log, o.Log
	}
	recPath := filepath.Join(o.DataDir, "server.json")
	_ = os.Remove(recPath)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start chatbot serve: %w", err)
	}
	s := &Service{cmd: cmd, dataDir: o.DataDir, exited: make(chan struct{})}
	go func() { s.waitErr = cmd.Wait(); close(s.exited) }()
	// A child process is watched by polling: it has no other way to say it
	// is ready than the record file and /healthz.
	deadline := time.NewTimer(o.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-ctx.Done():
			s.Kill()
			return nil, ctx.Err()
		case <-s.exited:
			return nil, fmt.Errorf("chatbot serve exited before it was ready: %v", s.waitErr)
		case <-deadline.C:
			s.Kill()
			return nil, fmt.Errorf("chatbot serve was not healthy within %v", o.Timeout)
		case <-tick.C:
		}
		if s.base == "" {
			b, err := os.ReadFile(recPath)
			if err != nil {
				continue
			}
			var rec serverRecord
			if json.Unmarshal(b, &rec) != nil || rec.Addr == "" {
				continue
			}
			s.base = "http://" + rec.Addr
			if err := RequireLoopback(s.base); err != nil {
				s.Kill()
				return nil, err
			}
		}
		resp, err := client.Get(s.base + "/healthz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			s.Started = time.Since(start)
			return s, nil
		}
	}
}

// Base is the server's base URL.
func (s *Service) Base() string { return s.base }

// PID is the server's process id.
func (s *Service) PID() int { return s.cmd.Process.Pid }

// Alive reports whether the process still runs.
func (s *Service) Alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM and waits for the exit (killing it after timeout). It
// returns how long the shutdown took and the process's exit error.
func (s *Service) Stop(timeout time.Duration) (time.Duration, error) {
	t0 := time.Now()
	if !s.Alive() {
		return 0, fmt.Errorf("chatbot serve had already exited: %v", s.waitErr)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("signal chatbot serve: %w", err)
	}
	select {
	case <-s.exited:
		return time.Since(t0), s.waitErr
	case <-time.After(timeout):
		s.Kill()
		return time.Since(t0), fmt.Errorf("chatbot serve did not stop within %v after SIGTERM; killed", timeout)
	}
}

// Kill ends the process at once.
func (s *Service) Kill() {
	if s.Alive() {
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// HasFlags reports which of flags `BINARY CMD --help` mentions, so the tool
// only passes flags the binary knows.
func HasFlags(run Commander, command string, flags ...string) (map[string]bool, error) {
	out, err := withEnv(run(command, "--help")).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("chatbot %s --help: %w", command, err)
	}
	has := map[string]bool{}
	for _, f := range flags {
		has[f] = bytes.Contains(out, []byte("--"+f+" ")) || bytes.Contains(out, []byte("--"+f+"\n"))
	}
	return has, nil
}

// HasCommand reports whether the binary has this subcommand.
func HasCommand(run Commander, command string) bool {
	out, err := withEnv(run("--help")).CombinedOutput()
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == command {
			return true
		}
	}
	return false
}

// withEnv gives cmd the process environment plus what the commander set.
func withEnv(cmd *exec.Cmd, extra ...string) *exec.Cmd {
	cmd.Env = append(append(os.Environ(), cmd.Env...), extra...)
	return cmd
}
