package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/metrics"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// backups serves GET /api/backup and takes the scheduled backups
// (--backup-every), keeping the last result for the admin overview and
// /metrics.
type backups struct {
	st     *store.Store
	log    *slog.Logger
	sealer store.Sealer       // checks each scheduled backup opens with the key
	key    *secret.WrappedKey // wrapped with CHATBOT_BACKUP_PASSPHRASE; nil: none
	dir    string
	every  time.Duration
	keep   int

	mu   sync.Mutex
	last BackupStatus

	cancel context.CancelFunc
	done   chan struct{} // closed when the scheduler has stopped
}

// BackupStatus is the last scheduled backup's result, as the admin
// overview shows it.
type BackupStatus struct {
	Enabled  bool      `json:"enabled"`
	Every    string    `json:"every,omitempty"`
	Dir      string    `json:"dir,omitempty"`
	Time     time.Time `json:"time,omitzero"`
	File     string    `json:"file,omitempty"`
	Bytes    int64     `json:"bytes,omitempty"`
	SHA256   string    `json:"sha256,omitempty"`
	Seconds  float64   `json:"seconds,omitempty"`
	WithKey  bool      `json:"with_key,omitempty"`
	Error    string    `json:"error,omitempty"`
	LastGood time.Time `json:"last_success,omitzero"`
	Failures int       `json:"failures"`
}

func newBackups(cfg Config, st *store.Store, sealer store.Sealer, key []byte, log *slog.Logger) (*backups, error) {
	b := &backups{st: st, log: log, sealer: sealer, every: cfg.BackupEvery, keep: cfg.BackupKeep, dir: cfg.BackupDir,
		done: make(chan struct{})}
	if b.dir == "" {
		b.dir = filepath.Join(cfg.DataDir, "backups")
	}
	if cfg.BackupPassphrase != "" && b.every > 0 {
		w, err := secret.WrapKey(key, []byte(cfg.BackupPassphrase))
		if err != nil {
			return nil, fmt.Errorf("CHATBOT_BACKUP_PASSPHRASE: %w", err)
		}
		b.key = w
	}
	b.last = BackupStatus{Enabled: b.every > 0}
	if b.every > 0 {
		b.last.Every, b.last.Dir = b.every.String(), b.dir
		if err := os.MkdirAll(b.dir, 0o700); err != nil {
			return nil, fmt.Errorf("--backup-dir %q: %w", b.dir, err)
		}
	}
	return b, nil
}

// serveHTTP streams a backup of the running database: GET /api/backup.
// The server keeps answering meanwhile; the CLI writes the stream to a
// .partial file and checks it before naming it.
func (b *backups) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// A large database takes longer than the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+store.BackupFileName(b.st.Now())+`"`)
	w.Header().Set("Cache-Control", "no-store")
	start := time.Now()
	info, err := b.st.WriteSnapshot(ctxWriter{ctx: r.Context(), w: w}, nil)
	if err != nil {
		b.log.Warn("backup over the API failed", "err", err, "request_id", httpapi.RequestID(r.Context()))
		// The status is sent; cutting the stream is how the client learns.
		panic(http.ErrAbortHandler)
	}
	b.log.Info("backup streamed", "bytes", info.Bytes, "sha256", info.SHA256, "duration", time.Since(start).Round(time.Millisecond))
}

// ctxWriter stops a copy once its context ends (a cancelled download, or
// shutdown), so the read transaction is not held for nothing.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// start runs the scheduler until stop; without --backup-every it does nothing.
func (b *backups) start() {
	if b.every <= 0 {
		close(b.done)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.removePartials()
	first := b.firstDelay(time.Now())
	b.log.Info("scheduled backups", "every", b.every, "dir", b.dir, "keep", b.keep, "next_in", first.Round(time.Second))
	go func() {
		defer close(b.done)
		t := time.NewTimer(first)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				b.runOnce(ctx)
				t.Reset(b.every)
			}
		}
	}()
}

// firstDelay is how long after a start the first backup is due: one period
// after the newest backup in the directory, at once when that is overdue or
// there is none. A server restarted more often than --backup-every (daily
// upgrades) still takes its backups.
func (b *backups) firstDelay(now time.Time) time.Duration {
	entries, _ := os.ReadDir(b.dir)
	var newest time.Time
	for _, e := range entries {
		if t, ok := store.BackupFileTime(e.Name()); ok && t.After(newest) {
			newest = t
		}
	}
	if newest.IsZero() {
		return 0
	}
	return min(max(newest.Add(b.every).Sub(now), 0), b.every)
}

// stop ends the scheduler, cutting short a backup in progress (its
// .partial file is removed), before the store closes.
func (b *backups) stop(ctx context.Context) error {
	if b.cancel != nil {
		b.cancel()
	}
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("scheduled backup did not stop: %w", ctx.Err())
	}
}

// runOnce takes one scheduled backup, records the result and prunes.
func (b *backups) runOnce(ctx context.Context) BackupStatus {
	start := time.Now()
	now := b.st.Now()
	path := filepath.Join(b.dir, store.BackupFileName(now))
	info, err := store.SaveSnapshot(path, b.sealer, func(w io.Writer) error {
		_, err := b.st.WriteSnapshot(ctxWriter{ctx: ctx, w: w}, b.key)
		return err
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	s := &b.last
	s.Time, s.Seconds, s.Error = now, time.Since(start).Seconds(), ""
	if err != nil {
		s.Failures++
		s.Error = err.Error()
		b.log.Error("scheduled backup failed", "file", path, "err", err)
		return *s
	}
	s.File, s.Bytes, s.SHA256, s.LastGood, s.WithKey = path, info.Bytes, info.SHA256, now, b.key != nil
	b.log.Info("scheduled backup written and checked", "file", path, "bytes", info.Bytes,
		"sha256", info.SHA256, "duration", time.Since(start).Round(time.Millisecond), "with_key", b.key != nil)
	if b.key == nil {
		b.log.Info("the backup does not hold the secret key: keep the key file (or CHATBOT_SECRET_KEY) with it, or set CHATBOT_BACKUP_PASSPHRASE")
	}
	if err := b.prune(); err != nil {
		b.log.Warn("pruning old backups", "dir", b.dir, "err", err)
	}
	return *s
}

// prune keeps the newest --backup-keep backups this scheduler named.
func (b *backups) prune() error {
	if b.keep <= 0 {
		return nil
	}
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && store.IsBackupFileName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // the names sort by time
	var errs []error
	for len(names) > b.keep {
		errs = append(errs, os.Remove(filepath.Join(b.dir, names[0])))
		names = names[1:]
	}
	return errors.Join(errs...)
}

// removePartials deletes what a crash in the middle of a scheduled backup
// left behind; never anything under a backup's own name.
func (b *backups) removePartials() {
	entries, _ := os.ReadDir(b.dir)
	for _, e := range entries {
		if name, _, ok := strings.Cut(e.Name(), ".partial-"); ok && store.IsBackupFileName(name) {
			if err := os.Remove(filepath.Join(b.dir, e.Name())); err == nil {
				b.log.Info("removed an interrupted backup", "file", e.Name())
			}
		}
	}
}

// status is the last result, for the admin overview.
func (b *backups) status() any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// collect adds the scheduled backups to /metrics.
func (b *backups) collect(w *metrics.PromWriter) {
	s := b.status().(BackupStatus)
	unix := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return float64(t.Unix())
	}
	enabled, ok := 0.0, 0.0
	if s.Enabled {
		enabled = 1
	}
	if !s.Time.IsZero() && s.Error == "" {
		ok = 1
	}
	w.Gauge("chatbot_backup_enabled", "1 when scheduled backups run (--backup-every).", enabled)
	w.Gauge("chatbot_backup_last_success", "1 when the last scheduled backup was written and checked, 0 when it failed or none ran yet.", ok)
	w.Gauge("chatbot_backup_last_success_timestamp_seconds", "Unix time of the last good scheduled backup; 0 for none.", unix(s.LastGood))
	w.Gauge("chatbot_backup_last_bytes", "Size of the last good scheduled backup.", float64(s.Bytes))
	w.Gauge("chatbot_backup_last_duration_seconds", "How long the last scheduled backup took, written and checked.", s.Seconds)
	w.Counter("chatbot_backup_failures_total", "Scheduled backups that failed since start.", float64(s.Failures))
}
