package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The knowledge base: documents, their chunks and the chunks' vectors.
// These buckets are the source of truth; the vector and lexical indexes
// are rebuilt in memory from them.
var (
	bucketDocs      = []byte("kb_documents")      // doc id -> JSON Document
	bucketDocPaths  = []byte("kb_document_paths") // path -> doc id
	bucketChunks    = []byte("kb_chunks")         // doc id + seq -> JSON chunkRecord
	bucketVectors   = []byte("kb_vectors")        // doc id + seq -> little-endian float32s
	keyKnowledgeIdx = []byte("kb_index")          // in bucketMeta: JSON IndexInfo
)

// IndexInfo records which embedder built the knowledge base.
type IndexInfo struct {
	Provider  string `json:"provider"`
	Model     string `json:"model"`
	Dimension int    `json:"dimension"`
	// Analyzer is the version of the lexical analysis that made the
	// chunks' terms; empty in knowledge bases written before it was
	// recorded (English-only analysis).
	Analyzer string `json:"analyzer,omitempty"`
}

// Document is one ingested file.
type Document struct {
	ID     uint64 `json:"id"`
	Path   string `json:"path"`             // as ingested, the key for re-ingest and --prune
	Source string `json:"source,omitempty"` // shown to users; empty in indexes built before it was recorded
	Title  string `json:"title"`            // first heading or file name
	// URL is the document's public address, shown to customers with its
	// citations: front matter url, ingest --base-url, or the crawled
	// page's canonical URL; empty when none is known (and in documents
	// stored before it was recorded).
	URL    string `json:"url,omitempty"`
	Hash   string `json:"hash"` // sha256 of the content, hex
	Size   int64  `json:"size"` // bytes
	Chunks int    `json:"chunks"`
	// SourceID is the knowledge source it came from; 0 (and absent in
	// documents stored before sources existed) means none.
	SourceID  uint64    `json:"source_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Chunk is one passage of a document with its vector.
type Chunk struct {
	DocID   uint64
	Seq     uint32
	Title   string
	Heading string
	Source  string
	Text    string
	Terms   string // the stemmed lexical terms, space-separated
	Vector  []float32
}

type chunkRecord struct {
	Title   string `json:"title"`
	Heading string `json:"heading,omitempty"`
	Source  string `json:"source"`
	Text    string `json:"text"`
	Terms   string `json:"terms"`
}

func chunkKey(doc uint64, seq uint32) []byte {
	k := make([]byte, 12)
	binary.BigEndian.PutUint64(k, doc)
	binary.BigEndian.PutUint32(k[8:], seq)
	return k
}

// KnowledgeIndexInfo returns the embedder that built the knowledge base,
// or ErrNotFound when nothing was ingested yet.
func (s *Store) KnowledgeIndexInfo() (IndexInfo, error) {
	var info IndexInfo
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyKnowledgeIdx)
		if v == nil {
			return fmt.Errorf("knowledge index info: %w", ErrNotFound)
		}
		return json.Unmarshal(v, &info)
	})
	return info, err
}

// ResetKnowledge deletes every document, chunk and vector and records info
// as the embedder of the (now empty) knowledge base. It is the --reindex.
func (s *Store) ResetKnowledge(info IndexInfo) error {
	return s.update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketDocs, bucketDocPaths, bucketChunks, bucketVectors} {
			if err := tx.DeleteBucket(name); err != nil {
				return fmt.Errorf("reset knowledge: %w", err)
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return fmt.Errorf("reset knowledge: %w", err)
			}
		}
		return putIndexInfo(tx, info)
	})
}

func putIndexInfo(tx *bolt.Tx, info IndexInfo) error {
	if err := bumpKnowledgeGen(tx); err != nil {
		return err
	}
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keyKnowledgeIdx, b)
}

// DocumentChunks is a document with its chunks, for PutDocuments.
type DocumentChunks struct {
	Doc    Document
	Chunks []Chunk
}

// PutDocument stores doc and its chunks in one transaction, replacing the
// chunks of an earlier version of the same path, so a crash leaves either
// the old or the new version, never half of one. info is the embedder of
// the vectors; it must match the recorded one (ErrConflict otherwise), and
// is recorded when the knowledge base is empty. It returns the stored
// document with its id.
func (s *Store) PutDocument(info IndexInfo, doc Document, chunks []Chunk) (Document, error) {
	docs, err := s.PutDocuments(info, []DocumentChunks{{Doc: doc, Chunks: chunks}})
	if err != nil {
		return Document{}, err
	}
	return docs[0], nil
}

// PutDocuments is PutDocument for several documents in one transaction
// (one fsync for all): all of them are stored, or none.
func (s *Store) PutDocuments(info IndexInfo, batch []DocumentChunks) ([]Document, error) {
	for _, dc := range batch {
		if dc.Doc.Path == "" {
			return nil, fmt.Errorf("put document: empty path")
		}
		for i, c := range dc.Chunks {
			if len(c.Vector) != info.Dimension {
				return nil, fmt.Errorf("put document %q: chunk %d has %d dimensions, the index %d", dc.Doc.Path, i, len(c.Vector), info.Dimension)
			}
		}
	}
	out := make([]Document, len(batch))
	err := s.update(func(tx *bolt.Tx) error {
		if err := checkIndexInfo(tx, info); err != nil {
			return err
		}
		now := s.now().UTC()
		for i, dc := range batch {
			doc, err := putDocument(tx, now, dc.Doc, dc.Chunks)
			if err != nil {
				return fmt.Errorf("put document %q: %w", dc.Doc.Path, err)
			}
			out[i] = doc
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("put documents: %w", err)
	}
	return out, nil
}

func putDocument(tx *bolt.Tx, now time.Time, doc Document, chunks []Chunk) (Document, error) {
	docs, paths := tx.Bucket(bucketDocs), tx.Bucket(bucketDocPaths)
	if id := paths.Get([]byte(doc.Path)); id != nil {
		doc.ID = btoi(id)
		var old Document
		if err := json.Unmarshal(docs.Get(id), &old); err == nil {
			doc.CreatedAt = old.CreatedAt
			if doc.SourceID == 0 { // a plain re-ingest keeps the document in its source
				doc.SourceID = old.SourceID
			}
		}
		if err := deleteChunks(tx, doc.ID); err != nil {
			return Document{}, err
		}
	} else {
		seq, err := docs.NextSequence()
		if err != nil {
			return Document{}, err
		}
		doc.ID = seq
		doc.CreatedAt = now
	}
	if err := bumpKnowledgeGen(tx); err != nil {
		return Document{}, err
	}
	doc.UpdatedAt = now
	doc.Chunks = len(chunks)
	cb, vb := tx.Bucket(bucketChunks), tx.Bucket(bucketVectors)
	// Keys are (document id, sequence) and new documents take the next id,
	// so chunks are appended in key order: fill pages completely instead of
	// bbolt's half (the file was twice its data at 100,000 chunks).
	cb.FillPercent, vb.FillPercent = 1, 1
	for i, c := range chunks {
		key := chunkKey(doc.ID, uint32(i))
		rec, err := json.Marshal(chunkRecord{Title: c.Title, Heading: c.Heading, Source: c.Source, Text: c.Text, Terms: c.Terms})
		if err != nil {
			return Document{}, err
		}
		if err := cb.Put(key, rec); err != nil {
			return Document{}, err
		}
		if err := vb.Put(key, encodeVector(c.Vector)); err != nil {
			return Document{}, err
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return Document{}, err
	}
	if err := docs.Put(itob(doc.ID), b); err != nil {
		return Document{}, err
	}
	return doc, paths.Put([]byte(doc.Path), itob(doc.ID))
}

func checkIndexInfo(tx *bolt.Tx, info IndexInfo) error {
	if info.Provider == "" || info.Dimension <= 0 {
		return fmt.Errorf("index info %+v is incomplete", info)
	}
	v := tx.Bucket(bucketMeta).Get(keyKnowledgeIdx)
	if v == nil {
		return putIndexInfo(tx, info)
	}
	var have IndexInfo
	if err := json.Unmarshal(v, &have); err != nil {
		return fmt.Errorf("read index info: %w", err)
	}
	if have != info {
		if k, _ := tx.Bucket(bucketDocs).Cursor().First(); k == nil {
			return putIndexInfo(tx, info)
		}
		return fmt.Errorf("index built by %s/%s (dim %d), not %s/%s (dim %d): %w",
			have.Provider, have.Model, have.Dimension, info.Provider, info.Model, info.Dimension, ErrConflict)
	}
	return nil
}

func deleteChunks(tx *bolt.Tx, doc uint64) error {
	if err := bumpKnowledgeGen(tx); err != nil {
		return err
	}
	prefix := itob(doc)
	for _, name := range [][]byte{bucketChunks, bucketVectors} {
		c := tx.Bucket(name).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteDocument removes a document and its chunks.
func (s *Store) DeleteDocument(id uint64) error {
	err := s.update(func(tx *bolt.Tx) error {
		docs := tx.Bucket(bucketDocs)
		v := docs.Get(itob(id))
		if v == nil {
			return ErrNotFound
		}
		var d Document
		if err := json.Unmarshal(v, &d); err != nil {
			return err
		}
		return deleteDocument(tx, d)
	})
	if err != nil {
		return fmt.Errorf("delete document %d: %w", id, err)
	}
	return nil
}

// deleteDocument removes d, its path entry and its chunks.
func deleteDocument(tx *bolt.Tx, d Document) error {
	if err := tx.Bucket(bucketDocPaths).Delete([]byte(d.Path)); err != nil {
		return err
	}
	if err := deleteChunks(tx, d.ID); err != nil {
		return err
	}
	return tx.Bucket(bucketDocs).Delete(itob(d.ID))
}

// Document returns one document by id.
func (s *Store) Document(id uint64) (Document, error) {
	var d Document
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDocs).Get(itob(id))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &d)
	})
	if err != nil {
		return Document{}, fmt.Errorf("document %d: %w", id, err)
	}
	return d, nil
}

// DocumentByPath returns the document ingested from path.
func (s *Store) DocumentByPath(path string) (Document, error) {
	var d Document
	err := s.view(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketDocPaths).Get([]byte(path))
		if id == nil {
			return ErrNotFound
		}
		return json.Unmarshal(tx.Bucket(bucketDocs).Get(id), &d)
	})
	if err != nil {
		return Document{}, fmt.Errorf("document %q: %w", path, err)
	}
	return d, nil
}

// Documents lists every document, ordered by path.
func (s *Store) Documents() ([]Document, error) {
	var out []Document
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDocs).ForEach(func(_, v []byte) error {
			var d Document
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			out = append(out, d)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list documents: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// EachChunk calls fn with every chunk and its vector, in key order, inside
// one read transaction (fn must not call the store). The chunk is a copy fn
// may keep. The file's pages it has read are released from memory as it
// goes (releaseMapped), so the whole file is never resident at once: the
// caller keeps what it needs.
func (s *Store) EachChunk(fn func(Chunk) error) error {
	err := s.view(func(tx *bolt.Tx) error {
		defer releaseMapped(s.db, tx)
		vb := tx.Bucket(bucketVectors)
		n := 0
		return tx.Bucket(bucketChunks).ForEach(func(k, v []byte) error {
			if n++; n%releaseEvery == 0 {
				releaseMapped(s.db, tx) // k and v stay valid: their pages fault back in
			}
			if len(k) != 12 {
				return fmt.Errorf("chunk key %x: %w", k, ErrCorrupt)
			}
			var rec chunkRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("chunk %x: %w", k, err)
			}
			vec, err := decodeVector(vb.Get(k))
			if err != nil {
				return fmt.Errorf("vector of chunk %x: %w", k, err)
			}
			return fn(Chunk{
				DocID: binary.BigEndian.Uint64(k), Seq: binary.BigEndian.Uint32(k[8:]),
				Title: rec.Title, Heading: rec.Heading, Source: rec.Source, Text: rec.Text, Terms: rec.Terms,
				Vector: vec,
			})
		})
	})
	if err != nil {
		return fmt.Errorf("read chunks: %w", err)
	}
	return nil
}

// releaseEvery is how many chunks EachChunk reads between two releases of
// the file's pages (about 25 MB of a 512-dimension index).
const releaseEvery = 4096

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// decodeVector copies the vector out of the transaction's memory.
func decodeVector(b []byte) ([]float32, error) {
	if len(b) == 0 || len(b)%4 != 0 {
		return nil, fmt.Errorf("%d bytes is not a vector: %w", len(b), ErrCorrupt)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}
