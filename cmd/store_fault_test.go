package cmd

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// serveExit runs `chatbot serve` on dir in a real process and returns its
// exit code and output. A server that starts anyway is killed at the
// deadline, which fails the caller's checks.
func serveExit(t *testing.T, dir string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	child := exec.CommandContext(ctx, os.Args[0])
	child.Env = append(os.Environ(), "CHATBOT_TEST_EXEC_ARGS="+strings.Join([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, "\x1f"),
		"CHATBOT_ADMIN_TOKEN=admin-token-store-fault-0123456789")
	out, err := child.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run serve: %v", err)
	}
	return child.ProcessState.ExitCode(), string(out)
}

// Issue 13: a database with 8 KB of random bytes at page 3 started, said
// ready, answered 503 and flooded the log while its meta pages were
// rewritten; a 0-byte chatbot.db was silently replaced by a new database.
// Both now make `chatbot serve` exit 1 with the restore message, and the
// file is left byte for byte as it was.
func TestServeRefusesADamagedDatabase(t *testing.T) {
	const admin = "admin-token-store-fault-0123456789"
	built := t.TempDir()
	sa := buildApp(t, config{DataDir: built, AdminToken: admin})
	sa.start()
	base := "http://" + sa.Addr()
	waitHealthy(t, base)
	for i := range 40 {
		body := fmt.Sprintf(`{"name":"Integration %d","provider":"freshchat","outgoing_webhook_url":"https://platform.example/hook/%d"}`, i, i)
		if status, res := apiJSON(t, "POST", base+"/api/webhook/config", admin, body); status != 201 {
			t.Fatalf("create: %d %v", status, res)
		}
	}
	if err := sa.stop(); err != nil {
		t.Fatal(err)
	}
	healthy, err := os.ReadFile(filepath.Join(built, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.NativeEndian.Uint32(healthy[16+8:])) // meta 0: magic, version, page size
	noise := make([]byte, 8<<10)
	rng := rand.New(rand.NewPCG(13, 3))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	if len(healthy) < 3*pageSize+len(noise) {
		t.Fatalf("database is %d bytes (page size %d): too small to damage 8 KB at page 3", len(healthy), pageSize)
	}
	damaged := append([]byte(nil), healthy...)
	copy(damaged[3*pageSize:], noise)

	for _, tc := range []struct {
		name, want string
		content    []byte
	}{
		{"8 KB of noise at page 3", "database file is corrupted; restore it from a backup (page ", damaged},
		{"0 bytes", "database file is corrupted; restore it from a backup (file is empty (0 bytes), not a database)", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// The key file goes with the database, as in a restored backup.
			key, err := os.ReadFile(filepath.Join(built, secret.KeyFileName))
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, secret.KeyFileName), key, 0o600)
			}
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			path := filepath.Join(dir, store.FileName)
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			before := sha256.Sum256(tc.content)
			code, out := serveExit(t, dir)
			if code != 1 {
				t.Fatalf("serve exit code %d, want 1; output:\n%s", code, out)
			}
			if want := fmt.Sprintf("Error: open %q: %s", path, tc.want); !strings.Contains(out, want) || strings.Contains(out, "panic") {
				t.Fatalf("serve printed:\n%s\nwant a line starting: %s", out, want)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(after) != before {
				t.Fatal("serve modified the damaged file")
			}
		})
	}
}
