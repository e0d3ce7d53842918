package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// rederiveBatch bounds the chunks one RederiveChunks transaction rewrites,
// so an upgrade of a large knowledge base neither holds one huge write
// transaction nor keeps every rewritten chunk in memory.
const rederiveBatch = 2048

// RederiveChunks rewrites every chunk's derived fields (lexical terms and
// vector) with fn, which sees the stored chunk and returns the new terms
// and vector, then records info as the knowledge base's embedder. It is how
// an upgrade of the built-in analyser or embedder keeps the documents
// instead of asking for a re-ingest: the chunks' text is all it needs.
//
// Batches commit one after another and info is recorded last, so a crash
// midway leaves the old info and the next start rewrites everything again
// (fn is deterministic, so rewriting a chunk twice is harmless).
func (s *Store) RederiveChunks(info IndexInfo, fn func(Chunk) (terms string, vector []float32, err error)) (int, error) {
	var after []byte // the last key rewritten
	total := 0
	for {
		var batch []Chunk
		err := s.view(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketChunks).Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(batch) < rederiveBatch; k, v = c.Next() {
				if len(k) != 12 {
					return fmt.Errorf("chunk key %x: %w", k, ErrCorrupt)
				}
				var rec chunkRecord
				if err := json.Unmarshal(v, &rec); err != nil {
					return fmt.Errorf("chunk %x: %w", k, err)
				}
				vec, err := decodeVector(tx.Bucket(bucketVectors).Get(k))
				if err != nil {
					return fmt.Errorf("vector of chunk %x: %w", k, err)
				}
				batch = append(batch, Chunk{DocID: binary.BigEndian.Uint64(k), Seq: binary.BigEndian.Uint32(k[8:]),
					Title: rec.Title, Heading: rec.Heading, Source: rec.Source, Text: rec.Text, Terms: rec.Terms, Vector: vec})
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("rederive chunks: %w", err)
		}
		if len(batch) == 0 {
			break
		}
		for i := range batch {
			terms, vec, err := fn(batch[i])
			if err != nil {
				return total, fmt.Errorf("rederive chunk %d-%d: %w", batch[i].DocID, batch[i].Seq, err)
			}
			if info.Dimension > 0 && len(vec) != info.Dimension {
				return total, fmt.Errorf("rederive chunk %d-%d: %d dimensions, want %d", batch[i].DocID, batch[i].Seq, len(vec), info.Dimension)
			}
			batch[i].Terms, batch[i].Vector = terms, vec
		}
		err = s.update(func(tx *bolt.Tx) error {
			if err := bumpKnowledgeGen(tx); err != nil {
				return err
			}
			cb, vb := tx.Bucket(bucketChunks), tx.Bucket(bucketVectors)
			for _, ch := range batch {
				k := chunkKey(ch.DocID, ch.Seq)
				rec, err := json.Marshal(chunkRecord{Title: ch.Title, Heading: ch.Heading, Source: ch.Source, Text: ch.Text, Terms: ch.Terms})
				if err != nil {
					return err
				}
				if err := cb.Put(k, rec); err != nil {
					return err
				}
				if err := vb.Put(k, encodeVector(ch.Vector)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("rederive chunks: %w", err)
		}
		total += len(batch)
		last := batch[len(batch)-1]
		after = chunkKey(last.DocID, last.Seq)
	}
	if err := s.update(func(tx *bolt.Tx) error { return putIndexInfo(tx, info) }); err != nil {
		return total, fmt.Errorf("rederive chunks: record the embedder: %w", err)
	}
	return total, nil
}
