package store

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/chatbot/chatbot/secret"
)

// A backup is one self-describing file, so an operator copies one thing:
//
//	chatbot-backup 1\n                 the magic line and format version
//	{header JSON}\n                    SnapshotHeader
//	<db_bytes bytes>                   the bbolt file, as of one read transaction
//	{"sha256":"..."}\n                 SHA-256 of everything above
//
// A trailer rather than a checksum in the header lets the server stream the
// snapshot as it reads it, without a second pass or a temporary copy; a
// sidecar manifest was the other choice and was left because the two files
// get separated. The header comes first so a reader refuses a newer format
// or schema before reading a gigabyte.
const (
	snapshotMagic = "chatbot-backup"
	// SnapshotFormat is the file layout version this code writes and reads.
	SnapshotFormat = 1
	// maxHeaderLine bounds the header read from an untrusted file.
	maxHeaderLine = 64 << 10
)

// Errors of reading a backup; check them with errors.Is.
var (
	ErrNotBackup = errors.New("not a chatbot backup file")
	ErrTruncated = errors.New("backup file is truncated (an interrupted copy?)")
	ErrChecksum  = errors.New("backup file does not match its checksum (damaged in storage or transfer)")
)

// SnapshotHeader describes a backup; it is the file's second line.
type SnapshotHeader struct {
	Format        int       `json:"format"`
	SchemaVersion uint64    `json:"schema_version"`
	Created       time.Time `json:"created"`
	DBBytes       int64     `json:"db_bytes"`
	// Key is the secret key wrapped with a passphrase (backup --with-key);
	// without it the backup's stored secrets need the original key.
	Key *secret.WrappedKey `json:"key,omitempty"`
}

// SnapshotInfo is what writing or reading a backup found.
type SnapshotInfo struct {
	SnapshotHeader
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"` // the whole file
}

type snapshotTrailer struct {
	SHA256 string `json:"sha256"`
}

// countingWriter counts and hashes what passes through.
type countingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// WriteSnapshot streams a consistent backup of the whole database to w from
// one read transaction: writers go on committing meanwhile (bbolt keeps the
// pages this transaction sees), and the copy reads the file, not the map.
// key, when not nil, travels in the header.
func (s *Store) WriteSnapshot(w io.Writer, key *secret.WrappedKey) (SnapshotInfo, error) {
	var info SnapshotInfo
	err := s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("snapshot: %q has no chatbot schema", s.path)
		}
		info.SnapshotHeader = SnapshotHeader{
			Format: SnapshotFormat, SchemaVersion: btoi(meta.Get(keySchema)),
			Created: s.now().UTC().Truncate(time.Second), DBBytes: tx.Size(), Key: key,
		}
		cw := &countingWriter{w: w, h: sha256.New()}
		if err := writeHeader(cw, info.SnapshotHeader); err != nil {
			return err
		}
		n, err := tx.WriteTo(cw)
		if err != nil {
			return fmt.Errorf("snapshot: copy the database: %w", err)
		}
		if n != info.DBBytes {
			return fmt.Errorf("snapshot: copied %d bytes of a %d-byte database", n, info.DBBytes)
		}
		info.SHA256 = hex.EncodeToString(cw.h.Sum(nil))
		t, _ := json.Marshal(snapshotTrailer{SHA256: info.SHA256})
		if _, err := w.Write(append(t, '\n')); err != nil {
			return fmt.Errorf("snapshot: write the trailer: %w", err)
		}
		info.Bytes = cw.n + int64(len(t)) + 1
		return nil
	})
	return info, err
}

func writeHeader(w io.Writer, h SnapshotHeader) error {
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("snapshot: encode the header: %w", err)
	}
	if _, err := fmt.Fprintf(w, "%s %d\n%s\n", snapshotMagic, SnapshotFormat, b); err != nil {
		return fmt.Errorf("snapshot: write the header: %w", err)
	}
	return nil
}

// SnapshotReader reads a backup: Header first (refusing another format or
// a newer schema before the data), then CopyDB, which checks the checksum.
type SnapshotReader struct {
	r      *bufio.Reader
	h      hash.Hash
	header SnapshotHeader
}

// NewSnapshotReader reads and checks the header of the backup in r.
func NewSnapshotReader(r io.Reader) (*SnapshotReader, error) {
	sr := &SnapshotReader{r: bufio.NewReaderSize(r, 1<<20), h: sha256.New()}
	magic, err := sr.line()
	if err != nil {
		return nil, err
	}
	var format int
	if _, err := fmt.Sscanf(magic, snapshotMagic+" %d\n", &format); err != nil {
		return nil, fmt.Errorf("%w (it does not start with %q)", ErrNotBackup, snapshotMagic)
	}
	if format != SnapshotFormat {
		return nil, fmt.Errorf("backup file format %d is not %d, the one this chatbot reads; restore it with the chatbot release that wrote it", format, SnapshotFormat)
	}
	line, err := sr.line()
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(line), &sr.header); err != nil || sr.header.DBBytes <= 0 {
		return nil, fmt.Errorf("%w (its header is damaged)", ErrNotBackup)
	}
	if err := checkSchemaVersion(sr.header.SchemaVersion); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return sr, nil
}

// line reads one header line into the checksum.
func (sr *SnapshotReader) line() (string, error) {
	var b []byte
	for {
		part, err := sr.r.ReadSlice('\n')
		b = append(b, part...)
		if len(b) > maxHeaderLine {
			return "", fmt.Errorf("%w (its header is longer than %d bytes)", ErrNotBackup, maxHeaderLine)
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(b) == 0 {
				return "", fmt.Errorf("%w (the file is empty)", ErrNotBackup)
			}
			return "", fmt.Errorf("%w (it ends inside the header)", ErrTruncated)
		}
		return "", fmt.Errorf("read backup: %w", err)
	}
	sr.h.Write(b)
	return string(b), nil
}

// Header is the backup's header.
func (sr *SnapshotReader) Header() SnapshotHeader { return sr.header }

// CopyDB writes the database bytes to w and checks the trailer's checksum;
// on ErrTruncated or ErrChecksum what w received must be thrown away.
func (sr *SnapshotReader) CopyDB(w io.Writer) (SnapshotInfo, error) {
	info := SnapshotInfo{SnapshotHeader: sr.header}
	n, err := io.CopyN(io.MultiWriter(w, sr.h), sr.r, sr.header.DBBytes)
	if errors.Is(err, io.EOF) {
		return info, fmt.Errorf("%w: %d of its %d database bytes are there", ErrTruncated, n, sr.header.DBBytes)
	}
	if err != nil {
		return info, fmt.Errorf("copy the database out of the backup: %w", err)
	}
	sum := hex.EncodeToString(sr.h.Sum(nil))
	line, err := sr.r.ReadString('\n')
	if errors.Is(err, io.EOF) {
		return info, fmt.Errorf("%w: its checksum line is missing", ErrTruncated)
	}
	if err != nil {
		return info, fmt.Errorf("read backup: %w", err)
	}
	var t snapshotTrailer
	if json.Unmarshal([]byte(line), &t) != nil || t.SHA256 == "" {
		return info, fmt.Errorf("%w (its checksum line is damaged)", ErrChecksum)
	}
	if t.SHA256 != sum {
		return info, fmt.Errorf("%w: recorded %s, computed %s", ErrChecksum, t.SHA256, sum)
	}
	if extra, _ := sr.r.Read(make([]byte, 1)); extra > 0 {
		return info, fmt.Errorf("%w (data follows its checksum line)", ErrNotBackup)
	}
	info.SHA256 = sum
	return info, nil
}

// ExtractSnapshot reads the backup in r into dir/chatbot.db (dir must not
// hold one) and checks it: checksum, bbolt's consistency check, and that
// the schema inside is the header's. On error the file is removed.
func ExtractSnapshot(r io.Reader, dir string) (SnapshotInfo, error) {
	sr, err := NewSnapshotReader(r)
	if err != nil {
		return SnapshotInfo{}, err
	}
	return sr.Extract(dir)
}

// Extract is ExtractSnapshot after the header was read.
func (sr *SnapshotReader) Extract(dir string) (SnapshotInfo, error) {
	return sr.extract(dir, true)
}

// extract writes and checks the database; durable syncs it first (a
// restore keeps it; a verification copy is thrown away, and syncing a
// gigabyte would only compete with the server's own commits for the disk).
func (sr *SnapshotReader) extract(dir string, durable bool) (info SnapshotInfo, err error) {
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return info, fmt.Errorf("extract backup: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	info, err = sr.CopyDB(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, err
	}
	if err := CheckFile(path, info.SchemaVersion); err != nil {
		return info, err
	}
	return info, nil
}

// CheckFile opens the bbolt file at path read-only, runs bbolt's consistency
// check over every page, and compares its schema version with want.
func CheckFile(path string, want uint64) error {
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("backup's database: %w", err)
	}
	defer db.Close()
	s := &Store{db: db, path: path, now: time.Now}
	if err := s.Check(); err != nil {
		return fmt.Errorf("backup's database fails the consistency check: %w", err)
	}
	return s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w (its database has no chatbot schema)", ErrNotBackup)
		}
		if got := btoi(meta.Get(keySchema)); got != want {
			return fmt.Errorf("%w: the header says schema %d, the database holds %d", ErrChecksum, want, got)
		}
		return nil
	})
}

// VerifySnapshotFile reads the backup at path completely and checks it as
// ExtractSnapshot does, in a temporary directory under tmpDir ("" for the
// system's) that is removed afterwards. With a sealer it also checks that
// the sealer's key opens the backup's secrets (ErrWrongKey otherwise).
func VerifySnapshotFile(path, tmpDir string, sealer Sealer) (SnapshotInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("open backup: %w", err)
	}
	defer f.Close()
	dir, err := os.MkdirTemp(tmpDir, ".chatbot-verify-")
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("verify backup: %w", err)
	}
	defer os.RemoveAll(dir)
	sr, err := NewSnapshotReader(f)
	if err != nil {
		return SnapshotInfo{}, err
	}
	info, err := sr.extract(dir, false)
	if err != nil {
		return info, err
	}
	if sealer != nil {
		if err := CheckKey(dir, sealer); err != nil {
			return info, err
		}
	}
	fi, err := f.Stat()
	if err == nil {
		info.Bytes = fi.Size()
	}
	return info, nil
}

// backupTimeFormat is the time in backup file names: sortable, no colons
// (Windows, scp), milliseconds so that close schedules do not collide.
const backupTimeFormat = "20060102T150405.000Z"

// BackupFileName names a scheduled backup by its time, so names sort by age.
func BackupFileName(t time.Time) string {
	return "chatbot-" + t.UTC().Format(backupTimeFormat) + ".backup"
}

// IsBackupFileName reports whether name is one BackupFileName made.
func IsBackupFileName(name string) bool {
	_, ok := BackupFileTime(name)
	return ok
}

// BackupFileTime is the time in a name BackupFileName made.
func BackupFileTime(name string) (time.Time, bool) {
	if !strings.HasPrefix(name, "chatbot-") || !strings.HasSuffix(name, ".backup") {
		return time.Time{}, false
	}
	t, err := time.Parse(backupTimeFormat, strings.TrimSuffix(strings.TrimPrefix(name, "chatbot-"), ".backup"))
	return t, err == nil
}

// CheckKey opens the database in dir read-only with sealer and reports
// ErrWrongKey when the key is not the one its secrets were sealed with.
func CheckKey(dir string, sealer Sealer) error {
	s, err := Open(dir, Options{ReadOnly: true, Sealer: sealer})
	if err != nil {
		return err
	}
	return s.Close()
}

// SaveSnapshot writes a backup to path without ever leaving a partial file
// under that name: write streams it into path.partial-*, which is synced,
// verified (VerifySnapshotFile, with sealer when not nil) and only then
// renamed. A crash at any point leaves at most the .partial file. path must
// not exist yet.
func SaveSnapshot(path string, sealer Sealer, write func(w io.Writer) error) (SnapshotInfo, error) {
	if _, err := os.Lstat(path); err == nil {
		return SnapshotInfo{}, fmt.Errorf("backup %q already exists; choose another name or remove it first", path)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".partial-*")
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("create backup file: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("write backup %q: %w", path, err)
	}
	info, err := VerifySnapshotFile(tmp, dir, sealer)
	if err != nil {
		return info, fmt.Errorf("the backup just written fails its check, so it was not kept: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		return SnapshotInfo{}, fmt.Errorf("backup %q appeared while it was written; the new one was not kept", path)
	}
	if err := os.Rename(tmp, path); err != nil {
		return info, fmt.Errorf("name the backup %q: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil { // make the rename itself durable
		_ = d.Sync()
		d.Close()
	}
	return info, nil
}

// CopySnapshot copies the backup in src to dst with key in its header (a
// backup streamed by a server, which never sends its key, gets the key the
// CLI wrapped). The source's checksum is checked as it is copied and a new
// one written; on error what dst received must be thrown away.
func CopySnapshot(dst io.Writer, src io.Reader, key *secret.WrappedKey) (SnapshotInfo, error) {
	sr, err := NewSnapshotReader(src)
	if err != nil {
		return SnapshotInfo{}, err
	}
	h := sr.Header()
	h.Key = key
	cw := &countingWriter{w: dst, h: sha256.New()}
	if err := writeHeader(cw, h); err != nil {
		return SnapshotInfo{}, err
	}
	if _, err := sr.CopyDB(cw); err != nil {
		return SnapshotInfo{}, err
	}
	info := SnapshotInfo{SnapshotHeader: h, SHA256: hex.EncodeToString(cw.h.Sum(nil))}
	t, _ := json.Marshal(snapshotTrailer{SHA256: info.SHA256})
	if _, err := dst.Write(append(t, '\n')); err != nil {
		return info, fmt.Errorf("snapshot: write the trailer: %w", err)
	}
	info.Bytes = cw.n + int64(len(t)) + 1
	return info, nil
}
