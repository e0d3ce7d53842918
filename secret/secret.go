// Package secret encrypts secrets at rest (AES-256-GCM) and handles the
// tokens the service hands out: random generation, hashing for storage and
// constant-time comparison.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of the master key in bytes.
const KeySize = 32

// version prefixes every ciphertext so keys and algorithms can rotate.
const version byte = 1

// KeyFileName is the key file created beside the database.
const KeyFileName = "secret.key"

// ErrDecrypt means a ciphertext did not open: wrong key, tampered, or moved
// onto another record.
var ErrDecrypt = errors.New("cannot decrypt stored secret: wrong CHATBOT_SECRET_KEY or damaged data")

// Box seals and opens secrets with one master key.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext bound to aad: version byte, nonce, ciphertext.
func (b *Box) Seal(plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, plaintext, aad), nil
}

// Open decrypts what Seal produced with the same aad.
func (b *Box) Open(ciphertext, aad []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(ciphertext) < 1+n || ciphertext[0] != version {
		return nil, ErrDecrypt
	}
	plain, err := b.aead.Open(nil, ciphertext[1:1+n], ciphertext[1+n:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}

// LoadKey returns the master key: from env (base64 or hex of 32 bytes) when
// given, else from dir/secret.key, which is created (mode 0600) on first use.
func LoadKey(env, dir string) ([]byte, error) {
	if env = strings.TrimSpace(env); env != "" {
		if k, err := base64.StdEncoding.DecodeString(env); err == nil && len(k) == KeySize {
			return k, nil
		}
		if k, err := hex.DecodeString(env); err == nil && len(k) == KeySize {
			return k, nil
		}
		return nil, errors.New("CHATBOT_SECRET_KEY must be 32 bytes in base64 or hex (generate one with: openssl rand -base64 32)")
	}
	path := filepath.Join(dir, KeyFileName)
	data, err := os.ReadFile(path)
	if err == nil {
		k, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
		if derr != nil || len(k) != KeySize {
			return nil, fmt.Errorf("key file %q is damaged: restore it from a backup (secrets stored with it cannot be read without it)", path)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read key file %q: %w", path, err)
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create key file %q: %w", path, err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key file %q: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("sync key file %q: %w", path, err)
	}
	return k, f.Close()
}

// NewToken returns a random URL-safe token with a readable prefix.
func NewToken(prefix string) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the OS RNG does not fail on Linux
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// NewSigningSecret returns a Standard Webhooks secret: "whsec_" + base64 of 32 random bytes.
func NewSigningSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// Hash returns the SHA-256 digest of a token, hex encoded, for storage and look-up.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Equal compares a presented token with a stored hash in constant time.
// Hashing first means the token's length does not leak either.
func Equal(token, storedHash string) bool {
	sum := sha256.Sum256([]byte(token))
	want, err := hex.DecodeString(storedHash)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	return subtle.ConstantTimeCompare(sum[:], want) == 1
}

// Mask shows only the last four characters of a secret: "****wxyz".
func Mask(s string) string {
	if s == "" {
		return ""
	}
	if len(s) <= 8 {
		return "****"
	}
	return "****" + s[len(s)-4:]
}
