package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// minPassphrase is the shortest passphrase --with-key accepts: Argon2id
// slows guessing, it does not make a short passphrase safe.
const minPassphrase = 12

func newBackupCommand(e env) *cobra.Command {
	var (
		t              serverTarget
		out, passFile  string
		withKey, quiet bool
	)
	c := &cobra.Command{
		Use:   "backup --out FILE",
		Short: "Write a checked backup of the database, while the server runs or not",
		Long: `Write a consistent backup of the whole database (integrations, messages,
conversations, live chats, the delivery queue, the knowledge base) to FILE.

While 'chatbot serve' holds the data directory the backup streams from its
API (GET /api/backup, set CHATBOT_ADMIN_TOKEN) and the server keeps
answering; otherwise it is read from the data directory. The file is written
as FILE.partial-*, checked (checksum, bbolt's consistency check, schema
version, and that the secret key opens its secrets) and only then renamed to
FILE, so an interrupted backup never leaves a file under that name.

Stored secrets (outgoing auth tokens, signing secrets) are encrypted with the
secret key (CHATBOT_SECRET_KEY, or <data-dir>/secret.key). A backup without
the key cannot decrypt them: keep the key with it, or pass --with-key to put
the key in the backup wrapped with a passphrase (Argon2id + AES-256-GCM) from
--passphrase-file or CHATBOT_BACKUP_PASSPHRASE.`,
		Example: `  chatbot backup --out /backups/chatbot-$(date +%F).backup
  CHATBOT_BACKUP_PASSPHRASE_FILE=/etc/chatbot/pass chatbot backup --out b.backup --with-key
  chatbot backup --out b.backup --server https://bot.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out FILE is required: where to write the backup")
			}
			return runBackup(cmd, e, t, out, passFile, withKey, quiet)
		},
	}
	f := c.Flags()
	bindDataDir(f, e, &t.dataDir)
	f.StringVar(&t.server, "server", e.or("CHATBOT_SERVER", ""), "URL of a running chatbot server to back up through its API (env CHATBOT_SERVER); default: the data directory, or the server holding it")
	f.StringVarP(&out, "out", "o", "", "the backup file to write (must not exist)")
	f.BoolVar(&withKey, "with-key", false, "put the secret key in the backup, wrapped with a passphrase (--passphrase-file or CHATBOT_BACKUP_PASSPHRASE)")
	f.StringVar(&passFile, "passphrase-file", "", "file holding the passphrase for --with-key (default: env CHATBOT_BACKUP_PASSPHRASE or CHATBOT_BACKUP_PASSPHRASE_FILE)")
	f.BoolVarP(&quiet, "quiet", "q", false, "print nothing on success (for cron)")
	return c
}

func runBackup(cmd *cobra.Command, e env, t serverTarget, out, passFile string, withKey, quiet bool) error {
	ctx := cmd.Context()
	key, keyFrom, err := existingKey(e, t.dataDir)
	if err != nil && (withKey || !errors.Is(err, os.ErrNotExist)) {
		return err
	}
	var (
		sealer  store.Sealer
		wrapped *secret.WrappedKey
	)
	if key != nil {
		box, err := secret.NewBox(key)
		if err != nil {
			return err
		}
		sealer = box
	}
	if withKey {
		pass, err := readPassphrase(e, passFile)
		if err != nil {
			return err
		}
		if wrapped, err = secret.WrapKey(key, []byte(pass)); err != nil {
			return err
		}
	}
	write, via, closeFn, err := backupSource(ctx, e, t, wrapped)
	if err != nil {
		return err
	}
	defer closeFn()
	start := time.Now()
	info, err := store.SaveSnapshot(out, sealer, write)
	if err != nil {
		return err
	}
	if quiet {
		return nil
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "backup %s written and checked (%s)\n", out, via)
	fmt.Fprintf(w, "  %.1f MB, schema version %d, taken %s, sha256 %s, in %s\n",
		float64(info.Bytes)/(1<<20), info.SchemaVersion, info.Created.Format(time.RFC3339), info.SHA256, time.Since(start).Round(time.Millisecond))
	switch {
	case wrapped != nil:
		fmt.Fprintf(w, "  the secret key is inside, wrapped with your passphrase: restoring needs the passphrase, not the key file\n")
	case key != nil:
		fmt.Fprintf(w, "  NOTE: the secret key is NOT in the backup; its stored secrets need it. Keep %s with the backup (or use --with-key)\n", keyFrom)
	default:
		fmt.Fprintf(w, "  NOTE: no secret key was found here to check the backup with; its stored secrets need the server's key (CHATBOT_SECRET_KEY or <data-dir>/secret.key): keep it with the backup\n")
	}
	return nil
}

// backupSource picks where the snapshot comes from: the server (--server,
// or the one holding the data directory) or the data directory itself.
func backupSource(ctx context.Context, e env, t serverTarget, key *secret.WrappedKey) (write func(io.Writer) error, via string, closeFn func(), err error) {
	remote := t.server != ""
	var st *store.Store
	if !remote {
		if _, err := os.Stat(filepath.Join(t.dataDir, store.FileName)); err != nil {
			return nil, "", nil, fmt.Errorf("no database at %s: nothing to back up (is --data-dir right?)", filepath.Join(t.dataDir, store.FileName))
		}
		// Read-only: a backup never migrates or otherwise changes the source.
		st, err = store.Open(t.dataDir, store.Options{ReadOnly: true, LockTimeout: 300 * time.Millisecond})
		if errors.Is(err, store.ErrLocked) {
			remote = true
		} else if err != nil {
			return nil, "", nil, err
		}
	}
	if !remote {
		return func(w io.Writer) error {
			_, err := st.WriteSnapshot(w, key)
			return err
		}, "from the data directory " + t.dataDir, func() { st.Close() }, nil
	}
	c, err := t.remoteClient(e)
	if err != nil {
		return nil, "", nil, fmt.Errorf("the data directory is held by a running server and its API cannot be used: %w", err)
	}
	return func(w io.Writer) error {
		if key == nil {
			_, err := c.Backup(ctx, w)
			return err
		}
		// The server never sends its key: put the wrapped one in the header.
		pr, pw := io.Pipe()
		go func() {
			_, err := c.Backup(ctx, pw)
			pw.CloseWithError(err)
		}()
		_, err := store.CopySnapshot(w, pr, key)
		pr.CloseWithError(errors.New("backup copy ended")) // unblocks the download on error
		return err
	}, "streamed from the running server", func() {}, nil
}

// existingKey returns the secret key without ever creating one (unlike
// secret.LoadKey): CHATBOT_SECRET_KEY[_FILE], else <dir>/secret.key, else
// an error wrapping os.ErrNotExist. from says where it came from.
func existingKey(e env, dir string) (key []byte, from string, err error) {
	v, err := e.lookup("CHATBOT_SECRET_KEY")
	if err != nil {
		return nil, "", err
	}
	if v != "" {
		k, err := secret.LoadKey(v, "")
		return k, "CHATBOT_SECRET_KEY", err
	}
	path := filepath.Join(dir, secret.KeyFileName)
	if _, err := os.Stat(path); err != nil {
		return nil, "", fmt.Errorf("no secret key: CHATBOT_SECRET_KEY is not set and %s %w; set CHATBOT_SECRET_KEY to the server's key", path, os.ErrNotExist)
	}
	k, err := secret.LoadKey("", dir)
	return k, path, err
}

// parseKeyFile reads a key file as secret.key holds it (base64, or hex).
func parseKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--key-file: %w", err)
	}
	k, err := secret.LoadKey(strings.TrimSpace(string(b)), "")
	if err != nil {
		return nil, fmt.Errorf("--key-file %s does not hold a 32-byte key in base64 or hex", path)
	}
	return k, nil
}

// readPassphrase returns the --with-key passphrase: --passphrase-file, else
// CHATBOT_BACKUP_PASSPHRASE or CHATBOT_BACKUP_PASSPHRASE_FILE. Only the
// final newline of a file is dropped; the passphrase is never printed.
func readPassphrase(e env, file string) (string, error) {
	var pass string
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--passphrase-file: %w", err)
		}
		pass = strings.TrimRight(string(b), "\r\n")
	} else {
		var err error
		if pass, err = e.lookup("CHATBOT_BACKUP_PASSPHRASE"); err != nil {
			return "", err
		}
	}
	if pass == "" {
		return "", errors.New("a passphrase is needed: --passphrase-file FILE, or CHATBOT_BACKUP_PASSPHRASE (or CHATBOT_BACKUP_PASSPHRASE_FILE)")
	}
	if len([]rune(pass)) < minPassphrase {
		return "", fmt.Errorf("the backup passphrase must be at least %d characters", minPassphrase)
	}
	return pass, nil
}
