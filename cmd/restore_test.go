package cmd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

const testPassphrase = "a long backup passphrase"

// seedDataDir makes a data directory (with its generated secret.key) that
// holds one integration with secrets, and returns it.
func seedDataDir(t *testing.T) string {
	t.Helper()
	return seedDataDirURL(t, "https://example.com/hook")
}

// seedDataDirURL is seedDataDir with the integration's outgoing URL.
func seedDataDirURL(t *testing.T, outgoing string) string {
	t.Helper()
	dir := t.TempDir()
	st, err := openStoreForCLI(mapEnv(nil), dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &store.WebhookConfig{Name: "Zendesk", Provider: "zendesk", OutgoingURL: outgoing,
		AuthToken: "zd-secret-token", IsActive: true, SigningSecret: secret.NewSigningSecret(), IncomingTokenHash: "h"}
	if err := st.CreateConfig(c); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// backupOf takes an offline backup of dir with the given extra arguments.
func backupOf(t *testing.T, dir string, e map[string]string, args ...string) (string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "x.backup")
	stdout, _, err := run(t, mapEnv(e), append([]string{"backup", "--out", out, "--data-dir", dir}, args...)...)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	return out, stdout
}

func TestBackupWithKeyRestoresWithPassphraseOnly(t *testing.T) {
	src := seedDataDir(t)
	out, said := backupOf(t, src, map[string]string{"CHATBOT_BACKUP_PASSPHRASE": testPassphrase}, "--with-key")
	if !strings.Contains(said, "from the data directory") || !strings.Contains(said, "the secret key is inside, wrapped with your passphrase") {
		t.Fatalf("backup said %q", said)
	}
	dst := filepath.Join(t.TempDir(), "new")
	passFile := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(passFile, []byte(testPassphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	said, _, err := run(t, mapEnv(nil), "restore", out, "--data-dir", dst, "--passphrase-file", passFile)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if !strings.Contains(said, "1 integrations") || !strings.Contains(said, "written to "+filepath.Join(dst, "secret.key")) {
		t.Fatalf("restore said %q", said)
	}
	oldKey, _ := os.ReadFile(filepath.Join(src, "secret.key"))
	newKey, _ := os.ReadFile(filepath.Join(dst, "secret.key"))
	if len(oldKey) == 0 || !bytes.Equal(oldKey, newKey) {
		t.Fatalf("restored key %q, want %q", newKey, oldKey)
	}
	if fi, err := os.Stat(filepath.Join(dst, "secret.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("restored key file mode: %v, %v", fi.Mode(), err)
	}
	st, err := openStoreForCLI(mapEnv(nil), dst)
	if err != nil {
		t.Fatalf("open the restored directory: %v", err)
	}
	defer st.Close()
	c, err := st.ConfigByName("Zendesk")
	if err != nil || c.AuthToken != "zd-secret-token" {
		t.Fatalf("restored config = %+v, %v", c, err)
	}
	if entries, _ := os.ReadDir(dst); len(entries) != 2 {
		t.Fatalf("restored directory holds %v, want chatbot.db and secret.key", entries)
	}
}

// Each way a restore can go wrong is refused with what to do, and leaves
// the target as it was.
func TestRestoreRefusals(t *testing.T) {
	src := seedDataDir(t)
	keyFile := filepath.Join(src, "secret.key")
	plain, _ := backupOf(t, src, nil)
	wrapped, _ := backupOf(t, src, map[string]string{"CHATBOT_BACKUP_PASSPHRASE": testPassphrase}, "--with-key")
	data, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truncated := write("truncated.backup", data[:len(data)/2])
	newer := write("newer.backup", bytes.Replace(data, fmt.Appendf(nil, `"schema_version":%d,`, store.SchemaVersion), []byte(`"schema_version":99,`), 1))
	otherKey := write("other.key", []byte(secretKeyB64(9)))
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		says []string
	}{
		{"wrong passphrase", map[string]string{"CHATBOT_BACKUP_PASSPHRASE": "not the passphrase at all"}, []string{wrapped},
			[]string{"passphrase does not open the wrapped secret key"}},
		{"no passphrase", nil, []string{wrapped}, []string{"holds its secret key wrapped with a passphrase", "CHATBOT_BACKUP_PASSPHRASE"}},
		{"truncated", nil, []string{truncated, "--key-file", keyFile}, []string{"truncated", "database bytes are there"}},
		{"newer schema", nil, []string{newer, "--key-file", keyFile}, []string{"written by a newer chatbot", "schema version 99", "upgrade chatbot"}},
		{"no key", nil, []string{plain}, []string{"does not hold its secret key", "--key-file OLD_DATA_DIR/secret.key or CHATBOT_SECRET_KEY"}},
		{"wrong key", nil, []string{plain, "--key-file", otherKey}, []string{"does not open this backup's secrets", "give the key the backup was taken with"}},
		{"wrong env key", map[string]string{"CHATBOT_SECRET_KEY": secretKeyB64(8)}, []string{plain}, []string{"the key from CHATBOT_SECRET_KEY does not open"}},
		{"not a backup", nil, []string{keyFile, "--key-file", keyFile}, []string{"not a chatbot backup file"}},
		{"non-empty target", nil, []string{plain, "--key-file", keyFile, "--data-dir", nonEmpty},
			[]string{"is not empty (it holds notes.txt)", "--force"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "target")
			args := append([]string{"restore", "--data-dir", dst}, c.args...)
			_, _, err := run(t, mapEnv(c.env), args...)
			if err == nil {
				t.Fatal("restore succeeded")
			}
			for _, s := range c.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if entries, _ := os.ReadDir(dst); len(entries) != 0 {
				t.Errorf("a refused restore left %v in the target", entries)
			}
		})
	}
	if entries, _ := os.ReadDir(nonEmpty); len(entries) != 1 {
		t.Errorf("the refused non-empty target now holds %v", entries)
	}
}

func secretKeyB64(b byte) string {
	return base64Key(bytes.Repeat([]byte{b}, secret.KeySize))
}

// --force restores over a stopped server's directory, keeping the old
// database and key beside; a running server's directory is refused.
func TestRestoreForce(t *testing.T) {
	src := seedDataDir(t)
	plain, _ := backupOf(t, src, nil)
	target := seedDataDir(t) // another installation, with its own key
	_, _, err := run(t, mapEnv(nil), "restore", plain, "--data-dir", target, "--force", "--key-file", filepath.Join(src, "secret.key"))
	if err != nil {
		t.Fatalf("restore --force: %v", err)
	}
	entries, _ := os.ReadDir(target)
	var names []string
	for _, e := range entries {
		names = append(names, strings.Split(e.Name(), ".before-restore-")[0]+map[bool]string{true: ".before-restore", false: ""}[strings.Contains(e.Name(), ".before-restore-")])
	}
	if got := strings.Join(names, ","); got != "chatbot.db,chatbot.db.before-restore,secret.key,secret.key.before-restore" {
		t.Fatalf("target holds %s", got)
	}

	a, _ := startOwnApp(t, config{DataDir: target, AdminToken: backupAdmin, Embedder: "builtin"})
	_, _, err = run(t, mapEnv(nil), "restore", plain, "--data-dir", a.cfg.DataDir, "--force", "--key-file", filepath.Join(src, "secret.key"))
	if err == nil || !strings.Contains(err.Error(), "in use by a running chatbot: stop it before restoring over it") {
		t.Fatalf("restore over a running server: %v", err)
	}
}

func TestBackupRefusals(t *testing.T) {
	src := seedDataDir(t)
	out := filepath.Join(t.TempDir(), "b.backup")
	cases := []struct {
		name string
		env  map[string]string
		args []string
		says string
	}{
		{"no --out", nil, []string{"--data-dir", src}, "--out FILE is required"},
		{"no database", nil, []string{"--out", out, "--data-dir", t.TempDir()}, "nothing to back up"},
		{"with-key without passphrase", nil, []string{"--out", out, "--data-dir", src, "--with-key"}, "a passphrase is needed"},
		{"short passphrase", map[string]string{"CHATBOT_BACKUP_PASSPHRASE": "short"}, []string{"--out", out, "--data-dir", src, "--with-key"}, "at least 12 characters"},
		{"wrong key", map[string]string{"CHATBOT_SECRET_KEY": secretKeyB64(3)}, []string{"--out", out, "--data-dir", src}, "does not match"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := run(t, mapEnv(c.env), append([]string{"backup"}, c.args...)...)
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err = %v, want it to say %q", err, c.says)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a refused backup left a file")
			}
		})
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

// A backup of a database from the previous schema restores, and the server
// started on it migrates it: older is fine, only newer is refused.
func TestRestoreOlderSchemaBackupMigratesOnStart(t *testing.T) {
	src := t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "store", "testdata", "schema1.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, store.FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(keyFile, []byte(secretKeyB64(7)), 0o600); err != nil { // the fixture's key
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "schema1.backup")
	if _, _, err := run(t, mapEnv(map[string]string{"CHATBOT_SECRET_KEY": secretKeyB64(7)}), "backup", "--out", out, "--data-dir", src); err != nil {
		t.Fatalf("backup of a schema-1 database: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	said, _, err := run(t, mapEnv(nil), "restore", out, "--data-dir", dst, "--key-file", keyFile)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if !strings.Contains(said, "(schema version 1,") || !strings.Contains(said, "3 integrations") {
		t.Fatalf("restore said %q", said)
	}
	a, _ := startOwnApp(t, config{DataDir: dst, AdminToken: backupAdmin, Embedder: "builtin"})
	configs, err := a.store.Configs()
	if err != nil || len(configs) != 3 {
		t.Fatalf("configs after the migration: %d, %v", len(configs), err)
	}
}
