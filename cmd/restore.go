package cmd

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"

	"github.com/chatbot/chatbot/internal/server"
)

func newRestoreCommand(e env) *cobra.Command {
	var (
		dataDir, passFile, keyFile string
		force                      bool
	)
	c := &cobra.Command{
		Use:   "restore FILE --data-dir DIR",
		Short: "Restore a backup into an empty data directory",
		Long: `Restore a backup written by 'chatbot backup' (or --backup-every) into DIR.

The backup is checked before anything is put in place: its format, its
schema version (a backup from a newer chatbot is refused; an older one is
migrated when serve opens it), its checksum, bbolt's consistency check, and
that the secret key opens its stored secrets. The key comes from the backup
itself when it was taken --with-key (give the passphrase with
--passphrase-file or CHATBOT_BACKUP_PASSPHRASE), else from --key-file (the
old secret.key) or CHATBOT_SECRET_KEY. It is written to DIR/secret.key
unless it came from CHATBOT_SECRET_KEY.

DIR must be empty or missing. --force restores over an existing data
directory whose server is stopped; the database and key found there are
kept beside, renamed *.before-restore-TIME.

Start the server on DIR afterwards: every integration, conversation,
document and queued delivery of the backup is there, and the queued
deliveries resume.`,
		Example: `  chatbot restore /backups/chatbot-2026-12-06.backup --data-dir /var/lib/chatbot --key-file /backups/secret.key
  CHATBOT_BACKUP_PASSPHRASE_FILE=/etc/chatbot/pass chatbot restore b.backup --data-dir ./data
  chatbot restore b.backup --data-dir ./data --force --key-file ./data/secret.key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRestore(cmd, e, args[0], dataDir, passFile, keyFile, force)
		},
	}
	f := c.Flags()
	bindDataDir(f, e, &dataDir)
	f.BoolVar(&force, "force", false, "restore into a data directory that is not empty (its server must be stopped); the old database and key are kept as *.before-restore-TIME")
	f.StringVar(&passFile, "passphrase-file", "", "file holding the passphrase of a backup taken --with-key (default: env CHATBOT_BACKUP_PASSPHRASE or CHATBOT_BACKUP_PASSPHRASE_FILE)")
	f.StringVar(&keyFile, "key-file", "", "the secret key the backup was taken with (the old data directory's secret.key), for a backup without --with-key")
	return c
}

func runRestore(cmd *cobra.Command, e env, file, dir, passFile, keyFile string, force bool) error {
	if err := checkRestoreTarget(dir, force); err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open backup: %w", err)
	}
	defer f.Close()
	sr, err := store.NewSnapshotReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	key, keyFrom, err := restoreKey(e, sr.Header(), passFile, keyFile)
	if err != nil {
		return err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return err
	}
	if err := store.PrepareDir(dir); err != nil {
		return err
	}
	// Everything is checked in a staging directory beside the target, so a
	// refused backup leaves the target as it was and the final renames stay
	// on one file system.
	staging, err := os.MkdirTemp(dir, ".restore-")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(staging)
	info, err := sr.Extract(staging)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if err := store.CheckKey(staging, box); err != nil {
		if errors.Is(err, store.ErrWrongKey) {
			return fmt.Errorf("%s: the key from %s does not open this backup's secrets: %w; give the key the backup was taken with", file, keyFrom, store.ErrWrongKey)
		}
		return err
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	if err := installRestore(staging, dir, stamp, key, keyFrom != "CHATBOT_SECRET_KEY"); err != nil {
		return err
	}
	return printRestored(cmd, dir, file, info, keyFrom)
}

// checkRestoreTarget refuses a non-empty directory without --force, and
// with it a directory a running server holds.
func checkRestoreTarget(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--data-dir %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
	if !force {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return fmt.Errorf("--data-dir %s is not empty (it holds %s): restore into an empty directory, or pass --force to replace its database (the old one is kept beside)",
			dir, strings.Join(names, ", "))
	}
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err == nil {
		st, err := store.Open(dir, store.Options{ReadOnly: true, LockTimeout: 300 * time.Millisecond})
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("--data-dir %s is in use by a running chatbot: stop it before restoring over it", dir)
		}
		if err == nil {
			st.Close()
		} // a damaged or newer database is what a restore replaces
	}
	return nil
}

// restoreKey finds the backup's secret key: wrapped inside it, --key-file,
// or CHATBOT_SECRET_KEY.
func restoreKey(e env, h store.SnapshotHeader, passFile, keyFile string) (key []byte, from string, err error) {
	if h.Key != nil {
		pass, err := readPassphrase(e, passFile)
		if err != nil {
			return nil, "", fmt.Errorf("this backup holds its secret key wrapped with a passphrase: %w", err)
		}
		if key, err = h.Key.Unwrap([]byte(pass)); err != nil {
			return nil, "", err
		}
		return key, "the backup (unwrapped with the passphrase)", nil
	}
	if keyFile != "" {
		key, err := parseKeyFile(keyFile)
		return key, keyFile, err
	}
	v, err := e.lookup("CHATBOT_SECRET_KEY")
	if err != nil {
		return nil, "", err
	}
	if v != "" {
		key, err := secret.LoadKey(v, "")
		return key, "CHATBOT_SECRET_KEY", err
	}
	return nil, "", errors.New("this backup does not hold its secret key (it was not taken --with-key): give the key it was taken with, --key-file OLD_DATA_DIR/secret.key or CHATBOT_SECRET_KEY; without it the stored secrets cannot be read")
}

// installRestore moves the checked database (and the key) into dir,
// keeping what was there as *.before-restore-stamp.
func installRestore(staging, dir, stamp string, key []byte, writeKey bool) error {
	db := filepath.Join(dir, store.FileName)
	keyPath := filepath.Join(dir, secret.KeyFileName)
	keep := func(path string) error {
		if _, err := os.Lstat(path); err != nil {
			return nil
		}
		return os.Rename(path, path+".before-restore-"+stamp)
	}
	if err := keep(db); err != nil {
		return fmt.Errorf("keep the old database: %w", err)
	}
	if writeKey {
		if err := keep(keyPath); err != nil {
			return fmt.Errorf("keep the old key: %w", err)
		}
		tmp := filepath.Join(staging, secret.KeyFileName)
		if err := writeSynced(tmp, []byte(base64Key(key))); err != nil {
			return err
		}
		if err := os.Rename(tmp, keyPath); err != nil {
			return fmt.Errorf("install the key: %w", err)
		}
	}
	if err := os.Rename(filepath.Join(staging, store.FileName), db); err != nil {
		return fmt.Errorf("install the database: %w", err)
	}
	os.Remove(filepath.Join(dir, server.RecordFile)) // a record left by a crashed server
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func printRestored(cmd *cobra.Command, dir, file string, info store.SnapshotInfo, keyFrom string) error {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "restored %s into %s (schema version %d, taken %s, sha256 %s, checked)\n",
		file, dir, info.SchemaVersion, info.Created.Format(time.RFC3339), info.SHA256)
	if st, err := store.Open(dir, store.Options{ReadOnly: true}); err == nil {
		if n, err := st.BucketKeys("webhook_configs", "messages", "conversations", "kb_documents", "delivery_jobs"); err == nil {
			fmt.Fprintf(w, "  %d integrations, %d messages, %d conversations, %d documents, %d queued deliveries\n",
				n["webhook_configs"], n["messages"], n["conversations"], n["kb_documents"], n["delivery_jobs"])
		}
		st.Close()
	}
	fmt.Fprintf(w, "  secret key: from %s", keyFrom)
	if keyFrom != "CHATBOT_SECRET_KEY" {
		fmt.Fprintf(w, ", written to %s", filepath.Join(dir, secret.KeyFileName))
	} else {
		fmt.Fprintf(w, " (not written: start the server with the same CHATBOT_SECRET_KEY)")
	}
	fmt.Fprintf(w, "\n  start it: chatbot serve --data-dir %s\n", dir)
	return nil
}

// base64Key is the form secret.key holds a key in.
func base64Key(key []byte) string { return base64.StdEncoding.EncodeToString(key) + "\n" }
