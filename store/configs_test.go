package store

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/chatbot/chatbot/secret"
)

func newConfig(name string) *WebhookConfig {
	return &WebhookConfig{
		Name: name, Provider: "freshchat", OutgoingURL: "https://example.com/hook",
		AuthToken: "outgoing-token-PLAINTEXT-1", SigningSecret: "whsec_c2lnbmluZy1zZWNyZXQtUExBSU5URVhULTI=",
		CustomHeaders:  map[string]string{"X-API-Key": "header-PLAINTEXT-3"},
		TimeoutSeconds: 30, RetryAttempts: 3, IsActive: true, ResponseMode: "sync",
		IncomingTokenHash: secret.Hash("incoming-" + name), IncomingTokenLast4: "abcd",
	}
}

func TestConfigCRUD(t *testing.T) {
	s := openTest(t, Options{})
	c := newConfig("Freshchat")
	if err := s.CreateConfig(c); err != nil {
		t.Fatal(err)
	}
	if c.ID != 1 || c.CreatedAt.IsZero() {
		t.Fatalf("created config id=%d created=%v", c.ID, c.CreatedAt)
	}
	got, err := s.Config(1)
	if err != nil {
		t.Fatal(err)
	}
	if got.AuthToken != c.AuthToken || got.SigningSecret != c.SigningSecret || got.CustomHeaders["X-API-Key"] != "header-PLAINTEXT-3" {
		t.Fatalf("secrets did not round-trip: %+v", got)
	}
	if byName, err := s.ConfigByName("FRESHCHAT"); err != nil || byName.ID != 1 {
		t.Fatalf("ConfigByName case-insensitive = %v, %v", byName, err)
	}
	if byTok, err := s.ConfigByTokenHash(secret.Hash("incoming-Freshchat")); err != nil || byTok.ID != 1 {
		t.Fatalf("ConfigByTokenHash = %v, %v", byTok, err)
	}
	if err := s.CreateConfig(newConfig("freshchat")); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate name error = %v, want ErrConflict", err)
	}
	if err := s.CreateConfig(newConfig("Zendesk")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateConfig(2, func(c *WebhookConfig) error { c.Name = "Freshchat"; return nil }); !errors.Is(err, ErrConflict) {
		t.Fatalf("rename onto taken name = %v, want ErrConflict", err)
	}
	upd, err := s.UpdateConfig(2, func(c *WebhookConfig) error {
		c.Name, c.IncomingTokenHash = "Zendesk EU", secret.Hash("rotated")
		return nil
	})
	if err != nil || upd.Name != "Zendesk EU" {
		t.Fatalf("update = %+v, %v", upd, err)
	}
	if _, err := s.ConfigByName("Zendesk"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old name still resolves: %v", err)
	}
	if _, err := s.ConfigByTokenHash(secret.Hash("incoming-Zendesk")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rotated token still resolves: %v", err)
	}
	if err := s.DeleteConfig(1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Config(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted config: %v", err)
	}
	if err := s.DeleteConfig(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	all, err := s.Configs()
	if err != nil || len(all) != 1 || all[0].Name != "Zendesk EU" {
		t.Fatalf("Configs = %+v, %v", all, err)
	}
}

func TestSecretsAreNotStoredInPlaintext(t *testing.T) {
	s := openTest(t, Options{})
	if err := s.CreateConfig(newConfig("Freshchat")); err != nil {
		t.Fatal(err)
	}
	var backup bytes.Buffer
	if err := s.view(func(tx *bolt.Tx) error { _, err := tx.WriteTo(&backup); return err }); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"PLAINTEXT-1", "PLAINTEXT-2", "UExBSU5URVhULTI", "PLAINTEXT-3", "incoming-Freshchat"} {
		if bytes.Contains(file, []byte(plain)) || bytes.Contains(backup.Bytes(), []byte(plain)) {
			t.Errorf("%q found in plaintext in the database or its backup", plain)
		}
	}
}

func TestCiphertextMovedToAnotherRecordFailsToDecrypt(t *testing.T) {
	s := openTest(t, Options{})
	a, b := newConfig("A"), newConfig("B")
	b.AuthToken = "token-of-B"
	for _, c := range []*WebhookConfig{a, b} {
		if err := s.CreateConfig(c); err != nil {
			t.Fatal(err)
		}
	}
	// Copy A's sealed auth token onto B's record.
	err := s.update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketConfigs)
		recA, recB := decodeRecord(t, bk.Get(itob(a.ID))), decodeRecord(t, bk.Get(itob(b.ID)))
		recB.AuthToken = recA.AuthToken
		return bk.Put(itob(b.ID), encodeRecord(t, recB))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Config(b.ID); !errors.Is(err, secret.ErrDecrypt) {
		t.Fatalf("moved ciphertext: error = %v, want ErrDecrypt", err)
	}
}

func TestWrongMasterKeyIsAClearError(t *testing.T) {
	dir := t.TempDir()
	box1, _ := secret.NewBox(bytes.Repeat([]byte{1}, 32))
	box2, _ := secret.NewBox(bytes.Repeat([]byte{2}, 32))
	s, err := Open(dir, Options{Sealer: box1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateConfig(newConfig("A")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Refused at Open, before any config is read (never garbage, never a 500 later).
	s, err = Open(dir, Options{Sealer: box2})
	if err == nil {
		s.Close()
		t.Fatal("Open with another key succeeded")
	}
	if !errors.Is(err, ErrWrongKey) || !errors.Is(err, secret.ErrDecrypt) || !strings.Contains(err.Error(), "CHATBOT_SECRET_KEY") {
		t.Fatalf("wrong key: error = %v", err)
	}
	// The right key still opens it, and the secret reads back.
	s, err = Open(dir, Options{Sealer: box1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Config(1); err != nil {
		t.Fatalf("right key: %v", err)
	}
}

func TestAdminTokenHash(t *testing.T) {
	s := openTest(t, Options{})
	if _, err := s.AdminTokenHash(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fresh store admin hash: %v", err)
	}
	if err := s.SetAdminTokenHash("abc"); err != nil {
		t.Fatal(err)
	}
	if h, err := s.AdminTokenHash(); err != nil || h != "abc" {
		t.Fatalf("AdminTokenHash = %q, %v", h, err)
	}
}

// TestKillDuringWriteBurst writes configs in a child process, kills it with
// SIGKILL mid-burst, and checks that the file reopens cleanly and holds
// every write the child had acknowledged.
func TestKillDuringWriteBurst(t *testing.T) {
	if dir := os.Getenv("CHATBOT_STORE_WRITER_DIR"); dir != "" {
		writeForever(dir)
		return
	}
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestKillDuringWriteBurst$")
	child.Env = append(os.Environ(), "CHATBOT_STORE_WRITER_DIR="+dir)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []uint64
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 512)
	for len(acked) < 60 {
		n, err := out.Read(tmp)
		if err != nil {
			t.Fatalf("child ended early after %d acks: %v", len(acked), err)
		}
		buf = append(buf, tmp[:n]...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			if id, err := strconv.ParseUint(string(buf[:i]), 10, 64); err == nil {
				acked = append(acked, id)
			}
			buf = buf[i+1:]
		}
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()

	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("Check after kill: %v", err)
	}
	for _, id := range acked {
		c, err := s.Config(id)
		if err != nil {
			t.Fatalf("acknowledged config %d lost: %v", id, err)
		}
		if c.Name != "burst-"+strconv.FormatUint(id, 10) {
			t.Fatalf("config %d has name %q", id, c.Name)
		}
	}
}

func writeForever(dir string) {
	s, err := Open(dir, Options{})
	if err != nil {
		os.Exit(3)
	}
	for i := 1; ; i++ {
		c := newConfig("burst-" + strconv.Itoa(i))
		if err := s.CreateConfig(c); err != nil {
			os.Exit(4)
		}
		os.Stdout.WriteString(strconv.FormatUint(c.ID, 10) + "\n") // acknowledged after commit
	}
}
