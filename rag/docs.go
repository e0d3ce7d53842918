package rag

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	chromem "github.com/philippgille/chromem-go"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// DocInput is one document to index: Path is its identity (re-putting a
// path replaces it), Source the reference shown to users ("docs/a.md").
type DocInput struct {
	Path    string
	Source  string
	Content []byte // raw bytes, for the content hash and size
	Parsed  Parsed
	Chunk   ChunkOptions
}

// Hash is the content hash recorded per document (sha256, hex).
func Hash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// embedBatch is how many chunks are embedded per call.
const embedBatch = 64

// Put chunks, embeds and stores one document, replacing an earlier version
// of the same path, and updates the in-memory indexes. The store write is
// one transaction: if embedding fails midway nothing of the document is
// stored and the old version stays. A document without text is an error.
func (ix *Index) Put(ctx context.Context, in DocInput) (store.Document, error) {
	pieces := Chunk(in.Parsed, in.Chunk)
	if len(pieces) == 0 {
		return store.Document{}, ErrNoText
	}
	chunks := make([]store.Chunk, len(pieces))
	texts := make([]string, len(pieces))
	for i, p := range pieces {
		src := in.Source
		if p.Anchor != "" {
			src += "#" + p.Anchor
		}
		texts[i] = indexText(p)
		chunks[i] = store.Chunk{Title: in.Parsed.Title, Heading: p.Heading, Source: src, Text: p.Text,
			Terms: strings.Join(embed.Terms(texts[i]), " ")}
	}
	for start := 0; start < len(texts); start += embedBatch {
		end := min(start+embedBatch, len(texts))
		vs, err := ix.emb.Embed(ctx, texts[start:end])
		if err != nil {
			return store.Document{}, fmt.Errorf("embed %s: %w", in.Source, err)
		}
		for i, v := range vs {
			if len(v) != ix.info.Dimension {
				return store.Document{}, fmt.Errorf("embed %s: got %d dimensions, the index has %d: %w", in.Source, len(v), ix.info.Dimension, ErrEmbedderMismatch)
			}
			chunks[start+i].Vector = v
		}
	}
	ix.write.Lock()
	defer ix.write.Unlock()
	doc, err := ix.st.PutDocument(ix.info, store.Document{
		Path: in.Path, Title: in.Parsed.Title, Hash: Hash(in.Content), Size: int64(len(in.Content)),
	}, chunks)
	if errors.Is(err, store.ErrConflict) {
		return store.Document{}, fmt.Errorf("%w: %v; re-ingest with --reindex", ErrEmbedderMismatch, err)
	}
	if err != nil {
		return store.Document{}, err
	}
	for i := range chunks {
		chunks[i].DocID, chunks[i].Seq = doc.ID, uint32(i)
	}
	return doc, ix.replaceInMemory(ctx, doc.ID, chunks)
}

// ErrNoText means a document has no text to index.
var ErrNoText = errors.New("no text to index")

// indexText is what is embedded and indexed for a chunk: its heading path
// (which names its topic) and its text.
func indexText(p Piece) string {
	if p.Heading == "" {
		return p.Text
	}
	return p.Heading + "\n\n" + p.Text
}

// Remove deletes a document from the store and the in-memory indexes.
func (ix *Index) Remove(ctx context.Context, id uint64) error {
	ix.write.Lock()
	defer ix.write.Unlock()
	if err := ix.st.DeleteDocument(id); err != nil {
		return err
	}
	return ix.replaceInMemory(ctx, id, nil)
}

// replaceInMemory swaps the chunks of a document in the in-memory indexes.
func (ix *Index) replaceInMemory(ctx context.Context, docID uint64, chunks []store.Chunk) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if old := ix.docs[docID]; len(old) > 0 {
		ids := make([]string, 0, len(old))
		for _, s := range old {
			ids = append(ids, ix.slots[s].id)
			delete(ix.byID, ix.slots[s].id)
			ix.lex.remove(s)
			ix.slots[s] = slot{}
		}
		delete(ix.docs, docID)
		if err := ix.col.Delete(ctx, nil, nil, ids...); err != nil {
			return fmt.Errorf("remove vectors of document %d: %w", docID, err)
		}
	}
	docs := make([]chromem.Document, 0, len(chunks))
	for _, c := range chunks {
		id := chunkID(c.DocID, c.Seq)
		ix.addSlot(c, id)
		docs = append(docs, chromem.Document{ID: id, Embedding: c.Vector})
	}
	if len(docs) > 0 {
		if err := ix.col.AddDocuments(ctx, docs, 2); err != nil {
			return fmt.Errorf("add vectors of document %d: %w", docID, err)
		}
	}
	return nil
}
