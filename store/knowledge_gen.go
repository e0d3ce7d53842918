package store

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// keyKnowledgeGen (in bucketMeta) is the knowledge generation: a counter
// and a random tag, both changed by every write to the knowledge base's
// documents, chunks or embedder. A cache of the in-memory index (the
// rag snapshot) records the generation it was made at and is used only
// while it is still the current one. The random tag makes the
// generation of a restored backup, or of another data directory that
// happened to count as far, differ from any generation this store had
// since, so a counter value cannot be mistaken for another.
var keyKnowledgeGen = []byte("kb_generation")

// KnowledgeGen identifies one state of the knowledge base.
type KnowledgeGen struct {
	Count uint64
	Tag   uint64
}

// KnowledgeGeneration returns the current knowledge generation; the zero
// value when the knowledge base was never written since it was recorded.
func (s *Store) KnowledgeGeneration() (KnowledgeGen, error) {
	var g KnowledgeGen
	err := s.view(func(tx *bolt.Tx) error {
		g = readKnowledgeGen(tx)
		return nil
	})
	if err != nil {
		return KnowledgeGen{}, fmt.Errorf("knowledge generation: %w", err)
	}
	return g, nil
}

func readKnowledgeGen(tx *bolt.Tx) KnowledgeGen {
	v := tx.Bucket(bucketMeta).Get(keyKnowledgeGen)
	if len(v) != 16 {
		return KnowledgeGen{}
	}
	return KnowledgeGen{Count: binary.BigEndian.Uint64(v), Tag: binary.BigEndian.Uint64(v[8:])}
}

// bumpKnowledgeGen moves the generation on; called in every transaction
// that changes the knowledge base. Safe to run twice in a retried batch:
// the generation only has to change.
func bumpKnowledgeGen(tx *bolt.Tx) error {
	g := readKnowledgeGen(tx)
	var b [16]byte
	if _, err := rand.Read(b[8:]); err != nil {
		return fmt.Errorf("knowledge generation: %w", err)
	}
	binary.BigEndian.PutUint64(b[:8], g.Count+1)
	return tx.Bucket(bucketMeta).Put(keyKnowledgeGen, b[:])
}
