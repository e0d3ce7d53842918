package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBoxRoundTripAndAAD(t *testing.T) {
	box, err := NewBox(bytes.Repeat([]byte{9}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := box.Seal([]byte("hunter2"), []byte("rec/1"))
	if err != nil {
		t.Fatal(err)
	}
	if ct[0] != version {
		t.Fatalf("version prefix = %d", ct[0])
	}
	if p, err := box.Open(ct, []byte("rec/1")); err != nil || string(p) != "hunter2" {
		t.Fatalf("Open = %q, %v", p, err)
	}
	if _, err := box.Open(ct, []byte("rec/2")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("other AAD: %v", err)
	}
	ct[len(ct)-1] ^= 1
	if _, err := box.Open(ct, []byte("rec/1")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := box.Open([]byte{2, 1, 2}, nil); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("short/unknown version: %v", err)
	}
	if _, err := NewBox([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadKey("", dir)
	if err != nil || len(k1) != KeySize {
		t.Fatalf("first LoadKey = %d bytes, %v", len(k1), err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v", fi.Mode(), err)
	}
	k2, err := LoadKey("", dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatal("second LoadKey returned another key")
	}
	hexKey := strings.Repeat("ab", 32)
	if k, err := LoadKey(hexKey, dir); err != nil || k[0] != 0xab {
		t.Fatalf("hex env key: %v", err)
	}
	if _, err := LoadKey("not-a-key", dir); err == nil || !strings.Contains(err.Error(), "openssl rand") {
		t.Fatalf("bad env key error = %v", err)
	}
	os.WriteFile(filepath.Join(dir, KeyFileName), []byte("damaged"), 0o600)
	if _, err := LoadKey("", dir); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged key file error = %v", err)
	}
}

func TestHashEqualAndMask(t *testing.T) {
	h := Hash("token-123")
	cases := []struct {
		token string
		want  bool
	}{
		{"token-123", true},
		{"Xoken-123", false}, // first byte wrong
		{"token-12X", false}, // last byte wrong
		{"", false},
		{"t", false},
		{strings.Repeat("x", 8192), false},
	}
	for _, c := range cases {
		if got := Equal(c.token, h); got != c.want {
			t.Errorf("Equal(%.12q) = %v, want %v", c.token, got, c.want)
		}
	}
	if Equal("token-123", "not-hex") {
		t.Error("Equal with a damaged hash returned true")
	}
	for in, want := range map[string]string{"": "", "abc": "****", "abcdefghijk": "****hijk"} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
	if tok := NewToken("cbi_"); !strings.HasPrefix(tok, "cbi_") || len(tok) != 4+32 {
		t.Errorf("NewToken = %q", tok)
	}
	if s := NewSigningSecret(); !strings.HasPrefix(s, "whsec_") || len(s) != 6+44 {
		t.Errorf("NewSigningSecret = %q", s)
	}
}
