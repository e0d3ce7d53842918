package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/secret"
)

func testBox(t testing.TB, b byte) *secret.Box {
	t.Helper()
	box, err := secret.NewBox(bytes.Repeat([]byte{b}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// snapshotOf writes a backup of s into memory.
func snapshotOf(t *testing.T, s *Store) ([]byte, SnapshotInfo) {
	t.Helper()
	var buf bytes.Buffer
	info, err := s.WriteSnapshot(&buf, nil)
	if err != nil {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	return buf.Bytes(), info
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := openTest(t, Options{})
	cfg := &WebhookConfig{Name: "Chatwoot", Provider: "chatwoot", OutgoingURL: "https://example.com/hook",
		AuthToken: "tok-secret-1234", SigningSecret: "whsec_x", IncomingTokenHash: "h1", IsActive: true}
	if err := s.CreateConfig(cfg); err != nil {
		t.Fatal(err)
	}
	info := IndexInfo{Provider: "builtin", Model: "m", Dimension: 2}
	if _, err := s.PutDocument(info, Document{Path: "/docs/a.md", Title: "A"},
		[]Chunk{{Seq: 0, Text: "reset your password", Vector: []float32{1, 0}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertIncoming(incoming("chatwoot", "c1", "m-1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	data, wrote := snapshotOf(t, s)
	if wrote.SchemaVersion != SchemaVersion || wrote.Format != SnapshotFormat || len(wrote.SHA256) != 64 || wrote.Bytes != int64(len(data)) {
		t.Fatalf("info = %+v (file %d bytes)", wrote, len(data))
	}
	if !bytes.HasPrefix(data, []byte("chatbot-backup 1\n{")) {
		t.Fatalf("file starts %q", data[:30])
	}
	dir := t.TempDir()
	got, err := ExtractSnapshot(bytes.NewReader(data), dir)
	if err != nil {
		t.Fatalf("ExtractSnapshot: %v", err)
	}
	if got.SHA256 != wrote.SHA256 || got.DBBytes != wrote.DBBytes || !got.Created.Equal(wrote.Created) {
		t.Fatalf("read %+v, wrote %+v", got, wrote)
	}
	r, err := Open(dir, Options{ReadOnly: true, Sealer: testBox(t, 7)})
	if err != nil {
		t.Fatalf("open the restored file: %v", err)
	}
	defer r.Close()
	c, err := r.ConfigByName("Chatwoot")
	if err != nil || c.AuthToken != "tok-secret-1234" || c.OutgoingURL != "https://example.com/hook" {
		t.Fatalf("restored config = %+v, %v", c, err)
	}
	docs, err := r.Documents()
	if err != nil || len(docs) != 1 || docs[0].Path != "/docs/a.md" {
		t.Fatalf("restored docs = %+v, %v", docs, err)
	}
	m, err := r.Message(1)
	if err != nil || m.Text != "hello" {
		t.Fatalf("restored message = %+v, %v", m, err)
	}
	// The key is checked: another key is refused as the wrong one.
	if err := CheckKey(dir, testBox(t, 8)); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("CheckKey with another key: %v, want ErrWrongKey", err)
	}
	if err := CheckKey(dir, testBox(t, 7)); err != nil {
		t.Fatalf("CheckKey with the key: %v", err)
	}
}

// A backup taken while writers commit holds every message whose insert
// returned before the backup began, and passes bbolt's check.
func TestSnapshotUnderConcurrentWrites(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	var (
		mu    sync.Mutex
		acked []uint64
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	warm := make(chan struct{})
	var warmOnce sync.Once
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m := incoming("p", fmt.Sprintf("c%d", w), fmt.Sprintf("w%d-%d", w, i))
				m.Text = strings.Repeat("x", 500)
				res, err := s.InsertIncoming(m, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, res.Message.ID)
				n := len(acked)
				mu.Unlock()
				if n >= 200 {
					warmOnce.Do(func() { close(warm) })
				}
			}
		}()
	}
	<-warm // writers are running and have committed some
	mu.Lock()
	before := append([]uint64(nil), acked...)
	mu.Unlock()
	var buf bytes.Buffer
	_, err := s.WriteSnapshot(&buf, nil)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := ExtractSnapshot(&buf, dir); err != nil {
		t.Fatalf("extract: %v", err)
	}
	r, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, id := range before {
		if _, err := r.Message(id); err != nil {
			t.Fatalf("message %d, acknowledged before the backup began, is missing: %v", id, err)
		}
	}
	t.Logf("%d messages acknowledged before the backup, %d by the end", len(before), len(acked))
}

func TestSnapshotRefusals(t *testing.T) {
	s := openTest(t, Options{})
	data, _ := snapshotOf(t, s)
	header := bytes.IndexByte(data[len("chatbot-backup 1\n"):], '\n') + len("chatbot-backup 1\n") + 1
	cases := []struct {
		name string
		data []byte
		want error
		says string
	}{
		{"empty", nil, ErrNotBackup, "empty"},
		{"not a backup", []byte("SQLite format 3\x00 and more\n"), ErrNotBackup, "does not start"},
		{"inside the header", data[:header-5], ErrTruncated, "inside the header"},
		{"half the database", data[:header+(len(data)-header)/2], ErrTruncated, "database bytes are there"},
		{"no checksum line", data[:len(data)-70], ErrTruncated, ""},
		{"checksum line cut", data[:len(data)-3], ErrTruncated, "checksum line is missing"},
		{"checksum line damaged", append(append([]byte(nil), data[:len(data)-76]...), "{}\n"...), ErrChecksum, "damaged"},
		{"flipped byte", flip(data, header+5000), ErrChecksum, "recorded"},
		{"newer schema", bytes.Replace(data, fmt.Appendf(nil, `"schema_version":%d,`, SchemaVersion), []byte(`"schema_version":99,`), 1), ErrNewerSchema, "upgrade chatbot"},
		{"other format", bytes.Replace(data, []byte("chatbot-backup 1\n"), []byte("chatbot-backup 7\n"), 1), nil, "format 7"},
		{"data after", append(append([]byte(nil), data...), 'x'), ErrNotBackup, "follows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := ExtractSnapshot(bytes.NewReader(c.data), dir)
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err = %v, want %v saying %q", err, c.want, c.says)
			}
			if _, serr := os.Stat(filepath.Join(dir, FileName)); !errors.Is(serr, os.ErrNotExist) {
				t.Fatalf("a refused backup left %s behind (%v)", FileName, serr)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0xFF
	return c
}

func TestSaveSnapshotNeverLeavesPartialUnderTheName(t *testing.T) {
	s := openTest(t, Options{})
	dir := t.TempDir()
	path := filepath.Join(dir, "b.backup")
	// A writer that fails half-way: nothing under the name, no .partial.
	_, err := SaveSnapshot(path, nil, func(w io.Writer) error {
		var buf bytes.Buffer
		if _, err := s.WriteSnapshot(&buf, nil); err != nil {
			return err
		}
		w.Write(buf.Bytes()[:buf.Len()/2])
		return errors.New("connection reset")
	})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v", err)
	}
	// A stream that ends early without an error (a proxy cut it) fails the check.
	_, err = SaveSnapshot(path, nil, func(w io.Writer) error {
		var buf bytes.Buffer
		if _, err := s.WriteSnapshot(&buf, nil); err != nil {
			return err
		}
		_, err := w.Write(buf.Bytes()[:buf.Len()/2])
		return err
	})
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated stream: err = %v, want ErrTruncated", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
	info, err := SaveSnapshot(path, testBox(t, 7), func(w io.Writer) error { _, err := s.WriteSnapshot(w, nil); return err })
	if err != nil || info.SchemaVersion != SchemaVersion {
		t.Fatalf("SaveSnapshot = %+v, %v", info, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != "b.backup" {
		t.Fatalf("directory holds %v, want only b.backup", entries)
	}
	if _, err := SaveSnapshot(path, nil, func(io.Writer) error { return nil }); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("existing name: err = %v", err)
	}
	// Saved with another key's check: refused, nothing kept.
	other := filepath.Join(dir, "c.backup")
	if _, err := SaveSnapshot(other, testBox(t, 9), func(w io.Writer) error { _, err := s.WriteSnapshot(w, nil); return err }); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: err = %v, want ErrWrongKey", err)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a backup that failed its key check was kept: %v", err)
	}
}

func TestBackupFileNames(t *testing.T) {
	n := BackupFileName(time.Date(2026, 12, 6, 17, 4, 5, 120e6, time.UTC))
	if n != "chatbot-20261206T170405.120Z.backup" || !IsBackupFileName(n) {
		t.Fatalf("name %q", n)
	}
	for _, bad := range []string{"chatbot.db", "chatbot-x.backup", "chatbot-20261206T170405.120Z.backup.partial-1", "chatbot-20261206T170405Z.backup"} {
		if IsBackupFileName(bad) {
			t.Errorf("%q taken for a backup", bad)
		}
	}
}

// FuzzSnapshotReader feeds arbitrary bytes to the backup reader: it must
// return an error or a checked database, never panic or read without bound.
func FuzzSnapshotReader(f *testing.F) {
	f.Add([]byte("chatbot-backup 1\n{\"format\":1,\"schema_version\":1,\"db_bytes\":4}\nabcd{\"sha256\":\"00\"}\n"))
	f.Add([]byte("chatbot-backup 1\n{}\n"))
	f.Add([]byte("chatbot-backup 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sr, err := NewSnapshotReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		if sr.Header().DBBytes <= 0 {
			t.Fatalf("accepted header %+v", sr.Header())
		}
		_, _ = sr.CopyDB(io.Discard)
	})
}
