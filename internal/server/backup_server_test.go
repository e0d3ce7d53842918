package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/metrics"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// testPassphrase wraps the secret key into the backups of these tests.
const testPassphrase = "a long backup passphrase"

type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Each scheduled run writes a checked backup named by its time, keeps the
// newest --backup-keep, removes what a crash left, and reports the result.
func TestScheduledBackupRunKeepsNewestAndReports(t *testing.T) {
	dataDir, backupDir := t.TempDir(), t.TempDir()
	key := bytes.Repeat([]byte{5}, secret.KeySize)
	box, _ := secret.NewBox(key)
	clock := &stepClock{t: time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)}
	st, err := store.Open(dataDir, store.Options{Sealer: box, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	leftover := filepath.Join(backupDir, store.BackupFileName(clock.now().Add(-time.Hour))+".partial-123")
	if err := os.WriteFile(leftover, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(backupDir, "keep-me.txt")
	if err := os.WriteFile(foreign, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{DataDir: dataDir, BackupDir: backupDir, BackupEvery: 24 * time.Hour, BackupKeep: 2, BackupPassphrase: testPassphrase}
	b, err := newBackups(cfg, st, box, key, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	b.removePartials()
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Fatalf("the crash's .partial file is still there: %v", err)
	}
	var want []string
	for range 3 {
		s := b.runOnce(context.Background())
		if s.Error != "" || !s.WithKey || s.Bytes <= 0 || len(s.SHA256) != 64 {
			t.Fatalf("run = %+v", s)
		}
		want = append(want, filepath.Base(s.File))
		clock.add(time.Hour)
	}
	entries, _ := os.ReadDir(backupDir)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join([]string{want[1], want[2], "keep-me.txt"}, ",") {
		t.Fatalf("backup dir holds %v, want the two newest of %v and keep-me.txt", got, want)
	}
	// The kept backup restores with the passphrase alone.
	h, err := os.Open(filepath.Join(backupDir, want[2]))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	sr, err := store.NewSnapshotReader(h)
	if err != nil || sr.Header().Key == nil {
		t.Fatalf("header = %+v, %v", sr.Header(), err)
	}
	if k, err := sr.Header().Key.Unwrap([]byte(testPassphrase)); err != nil || !bytes.Equal(k, key) {
		t.Fatalf("unwrap = %x, %v", k, err)
	}

	metrics := scrapeBackups(b)
	for _, line := range []string{
		"chatbot_backup_enabled 1\n", "chatbot_backup_last_success 1\n",
		"chatbot_backup_last_success_timestamp_seconds 1.7965332e+09\n", "chatbot_backup_failures_total 0\n",
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("metrics lack %q:\n%s", line, metrics)
		}
	}
	// A failing run (the directory is gone, a file in its place) is counted
	// and shown, and the last good one is kept.
	if err := os.RemoveAll(backupDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(backupDir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := b.runOnce(context.Background())
	if s.Error == "" || s.Failures != 1 || s.LastGood.IsZero() {
		t.Fatalf("failed run = %+v", s)
	}
	if m := scrapeBackups(b); !strings.Contains(m, "chatbot_backup_last_success 0\n") || !strings.Contains(m, "chatbot_backup_failures_total 1\n") {
		t.Fatalf("metrics after a failure:\n%s", m)
	}
}

// scrapeBackups is what /metrics shows of b.
func scrapeBackups(b *backups) string {
	m := metrics.New()
	m.AddCollector(b.collect)
	var buf bytes.Buffer
	m.WriteTo(&buf)
	return buf.String()
}

// The first scheduled backup after a start is due one period after the
// newest one on disk, so restarts do not postpone backups for ever.
func TestScheduledBackupFirstDelay(t *testing.T) {
	dir := t.TempDir()
	b := &backups{dir: dir, every: 24 * time.Hour}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	if d := b.firstDelay(now); d != 0 {
		t.Fatalf("no backups yet: first in %s, want at once", d)
	}
	touch := func(at time.Time) {
		if err := os.WriteFile(filepath.Join(dir, store.BackupFileName(at)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	touch(now.Add(-30 * time.Hour))
	if d := b.firstDelay(now); d != 0 {
		t.Fatalf("overdue: first in %s, want at once", d)
	}
	touch(now.Add(-time.Hour))
	os.WriteFile(filepath.Join(dir, "chatbot-29991231T000000.000Z.backup.partial-1"), nil, 0o600) // not a backup
	if d := b.firstDelay(now); d != 23*time.Hour {
		t.Fatalf("newest 1h ago: first in %s, want 23h", d)
	}
	touch(now.Add(time.Hour)) // a clock that went back: never more than a period
	if d := b.firstDelay(now); d != 24*time.Hour {
		t.Fatalf("newest in the future: first in %s, want 24h", d)
	}
}

// Shutdown cuts a scheduled backup short: its context ends, the copy stops
// at the next write, and nothing is left in the directory.
func TestScheduledBackupStopsWithItsContext(t *testing.T) {
	dataDir, backupDir := t.TempDir(), t.TempDir()
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, err := newBackups(Config{DataDir: dataDir, BackupDir: backupDir, BackupEvery: time.Hour, BackupKeep: 2}, st, nil, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := b.runOnce(ctx)
	if !strings.Contains(s.Error, context.Canceled.Error()) || s.Failures != 1 {
		t.Fatalf("cancelled run = %+v", s)
	}
	if entries, _ := os.ReadDir(backupDir); len(entries) != 0 {
		t.Fatalf("a cancelled backup left %v", entries)
	}
	// A started scheduler (its first backup due at once: none on disk) stops
	// and is waited for, whether that backup finished or was cut short.
	b.start()
	if err := b.stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
