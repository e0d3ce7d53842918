package store

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/chatbot/chatbot/secret"
)

var keyAdminTokenHash = []byte("admin_token_hash")

// AdminTokenHash returns the stored hash of the admin token, or ErrNotFound.
func (s *Store) AdminTokenHash() (string, error) {
	var h string
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyAdminTokenHash)
		if v == nil {
			return fmt.Errorf("admin token: %w", ErrNotFound)
		}
		h = string(v)
		return nil
	})
	return h, err
}

// SetAdminTokenHash stores the hash of the admin token.
func (s *Store) SetAdminTokenHash(hash string) error {
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyAdminTokenHash, []byte(hash))
	})
}

// keyKeyCheck holds a known value sealed with the secret key, so that Open
// can tell at once whether it was given the key the stored secrets were
// sealed with, instead of every later read of a secret failing.
var keyKeyCheck = []byte("secret_key_check")

const keyCheckPlain = "chatbot secret key check v1"

var keyCheckAAD = []byte("meta/secret_key_check")

// checkKeyTx opens the sealed check value with the store's Sealer, and
// writes it when absent (a new database, or one from before the check; its
// first webhook config's secret is opened first, so a wrong key is never
// recorded as the right one). It returns an ErrWrongKey error wrapping the
// Sealer's error, naming where the key comes from.
func (s *Store) checkKeyTx(tx *bolt.Tx) error {
	if s.sealer == nil {
		return nil
	}
	meta := tx.Bucket(bucketMeta)
	var err error
	if v := meta.Get(keyKeyCheck); v != nil {
		var plain []byte
		if plain, err = s.sealer.Open(v, keyCheckAAD); err == nil && string(plain) != keyCheckPlain {
			err = fmt.Errorf("the check value opened to something else")
		}
	} else if err = s.openFirstConfigSecretTx(tx); err == nil && tx.Writable() {
		ct, serr := s.sealer.Seal([]byte(keyCheckPlain), keyCheckAAD)
		if serr != nil {
			return fmt.Errorf("seal the secret key check: %w", serr)
		}
		return meta.Put(keyKeyCheck, ct)
	}
	if err != nil {
		keyFile := filepath.Join(filepath.Dir(s.path), secret.KeyFileName)
		return fmt.Errorf("%w (CHATBOT_SECRET_KEY or %s); start with the original key: %w", ErrWrongKey, keyFile, err)
	}
	return nil
}

// openFirstConfigSecretTx opens the signing secret of the first webhook
// config, the one secret every config has.
func (s *Store) openFirstConfigSecretTx(tx *bolt.Tx) error {
	b := tx.Bucket(bucketConfigs)
	if b == nil {
		return nil
	}
	k, v := b.Cursor().First()
	if k == nil {
		return nil
	}
	var rec configRecord
	if json.Unmarshal(v, &rec) != nil {
		return nil // a damaged record is not a key problem; reading it reports it
	}
	_, err := s.unseal(rec.SigningSecret, configAAD(rec.ID, "signing_secret"))
	return err
}
