package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// ErrPassphrase means a wrapped key did not open: the passphrase is wrong,
// or the wrapped key was altered.
var ErrPassphrase = errors.New("the backup passphrase does not open the wrapped secret key (wrong passphrase, or the backup's key was altered)")

// WrappedKey is the master key encrypted under a passphrase, as it travels
// inside a backup: Argon2id (RFC 9106) derives a 32-byte key from the
// passphrase and salt, and AES-256-GCM seals the master key with it. The
// parameters travel with it so later releases may raise them and still
// open older backups.
type WrappedKey struct {
	KDF        string `json:"kdf"` // "argon2id"
	Time       uint32 `json:"time"`
	MemoryKiB  uint32 `json:"memory_kib"`
	Threads    uint8  `json:"threads"`
	Salt       []byte `json:"salt"`
	Cipher     string `json:"cipher"` // "aes-256-gcm"
	Nonce      []byte `json:"nonce"`
	Ciphertext []byte `json:"ciphertext"`
}

// The Argon2id cost: RFC 9106's second recommended option (3 passes over
// 64 MiB, 4 lanes), about 0.1-0.3 s on a small server, once per backup.
const (
	wrapTime      = 3
	wrapMemoryKiB = 64 * 1024
	wrapThreads   = 4
	kdfArgon2id   = "argon2id"
	cipherGCM     = "aes-256-gcm"
	// Bounds on what an untrusted backup may ask Unwrap to spend.
	maxWrapTime      = 16
	maxWrapMemoryKiB = 1024 * 1024
)

// WrapKey encrypts the master key under passphrase with fresh salt and nonce.
func WrapKey(key, passphrase []byte) (*WrappedKey, error) {
	salt := make([]byte, 16)
	nonce := make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("wrap key: %w", err)
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("wrap key: %w", err)
	}
	return wrapKeyWith(key, passphrase, salt, nonce)
}

func wrapKeyWith(key, passphrase, salt, nonce []byte) (*WrappedKey, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("wrap key: secret key must be %d bytes, got %d", KeySize, len(key))
	}
	if len(passphrase) == 0 {
		return nil, errors.New("wrap key: the passphrase is empty")
	}
	w := &WrappedKey{KDF: kdfArgon2id, Time: wrapTime, MemoryKiB: wrapMemoryKiB, Threads: wrapThreads,
		Salt: salt, Cipher: cipherGCM, Nonce: nonce}
	aead, err := w.aead(passphrase)
	if err != nil {
		return nil, err
	}
	w.Ciphertext = aead.Seal(nil, nonce, key, w.aad())
	return w, nil
}

// Unwrap returns the master key, or ErrPassphrase.
func (w *WrappedKey) Unwrap(passphrase []byte) ([]byte, error) {
	if w.KDF != kdfArgon2id || w.Cipher != cipherGCM {
		return nil, fmt.Errorf("unwrap key: unknown kdf %q or cipher %q (a newer chatbot wrote this backup?)", w.KDF, w.Cipher)
	}
	if w.Time == 0 || w.Time > maxWrapTime || w.MemoryKiB < 8 || w.MemoryKiB > maxWrapMemoryKiB ||
		w.Threads == 0 || len(w.Salt) < 8 || len(w.Nonce) != 12 {
		return nil, fmt.Errorf("unwrap key: parameters out of range (time %d, memory %d KiB, threads %d)", w.Time, w.MemoryKiB, w.Threads)
	}
	aead, err := w.aead(passphrase)
	if err != nil {
		return nil, err
	}
	key, err := aead.Open(nil, w.Nonce, w.Ciphertext, w.aad())
	if err != nil || len(key) != KeySize {
		return nil, ErrPassphrase
	}
	return key, nil
}

func (w *WrappedKey) aead(passphrase []byte) (cipher.AEAD, error) {
	kek := argon2.IDKey(passphrase, w.Salt, w.Time, w.MemoryKiB, w.Threads, 32)
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("wrap key: %w", err)
	}
	return cipher.NewGCM(block)
}

// aad binds the ciphertext to its parameters: a backup edited to ask for a
// cheaper derivation does not open.
func (w *WrappedKey) aad() []byte {
	return fmt.Appendf(nil, "chatbot wrapped key v1|%s|%d|%d|%d|%s", w.KDF, w.Time, w.MemoryKiB, w.Threads, w.Cipher)
}
