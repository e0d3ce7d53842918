package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// pinnedWrapped is a key wrapped by the first release of this format (key
// bytes 0..31, passphrase "correct horse battery staple", fixed salt and
// nonce). Every later release must still open it: backups outlive binaries.
const pinnedWrapped = `{"kdf":"argon2id","time":3,"memory_kib":65536,"threads":4,"salt":"MDEyMzQ1Njc4OWFiY2RlZg==","cipher":"aes-256-gcm","nonce":"bm9uY2UtMTJieXRl","ciphertext":"sWRKJlofNxf+SltaZ1z+WdhOVgnu+aIcgktJDaesVt7+4oWawygChzTlbjOazitk"}`

func pinnedKey() []byte {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(i)
	}
	return key
}

func TestUnwrapPinnedVector(t *testing.T) {
	var w WrappedKey
	if err := json.Unmarshal([]byte(pinnedWrapped), &w); err != nil {
		t.Fatal(err)
	}
	got, err := w.Unwrap([]byte("correct horse battery staple"))
	if err != nil {
		t.Fatalf("Unwrap: %v", err)
	}
	if !bytes.Equal(got, pinnedKey()) {
		t.Fatalf("Unwrap = %x, want %x", got, pinnedKey())
	}
	again, err := wrapKeyWith(pinnedKey(), []byte("correct horse battery staple"), w.Salt, w.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Ciphertext, w.Ciphertext) {
		t.Fatalf("wrapping the pinned inputs gives %x, want %x", again.Ciphertext, w.Ciphertext)
	}
}

func TestWrapRoundTripAndWrongPassphrase(t *testing.T) {
	key := pinnedKey()
	w, err := WrapKey(key, []byte("s3cret passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(w.Ciphertext, key[:8]) {
		t.Fatal("ciphertext holds the key in the clear")
	}
	got, err := w.Unwrap([]byte("s3cret passphrase"))
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("Unwrap = %x, %v", got, err)
	}
	if _, err := w.Unwrap([]byte("s3cret passphrasE")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong passphrase: err = %v, want ErrPassphrase", err)
	}
	// Parameters are bound to the ciphertext: a cheaper derivation does not open it.
	cheap := *w
	cheap.Time = 1
	if _, err := cheap.Unwrap([]byte("s3cret passphrase")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("edited time: err = %v, want ErrPassphrase", err)
	}
	// An untrusted backup cannot ask for a huge derivation.
	huge := *w
	huge.MemoryKiB = 64 << 20
	if _, err := huge.Unwrap([]byte("s3cret passphrase")); err == nil || errors.Is(err, ErrPassphrase) {
		t.Fatalf("huge memory: err = %v, want a parameters error", err)
	}
	if _, err := WrapKey(key, nil); err == nil {
		t.Fatal("empty passphrase accepted")
	}
}
