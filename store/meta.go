package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
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
