package rag

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

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
	// SourceID is the knowledge source the document belongs to (0: none).
	SourceID uint64
	// URL is the document's public address from an ingest --base-url; the
	// document's own front matter (Parsed.URL) wins over it, and a crawled
	// page's Source is its URL.
	URL string
}

// publicURL is the URL recorded for a document: its front matter's, else
// the one given with it, else its source when that is a web page.
func (in DocInput) publicURL() string {
	switch {
	case in.Parsed.URL != "":
		return in.Parsed.URL
	case in.URL != "":
		return in.URL
	case isWebAddress(in.Source):
		return in.Source
	}
	return ""
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
// stored and the old version stays. A document without text is ErrNoText.
func (ix *Index) Put(ctx context.Context, in DocInput) (store.Document, error) {
	p, err := ix.prepare(ctx, in)
	if err != nil {
		return store.Document{}, err
	}
	return ix.commit(ctx, p)
}

// preparedDoc is a document chunked and embedded, ready to be stored.
type preparedDoc struct {
	doc    store.Document
	chunks []store.Chunk
}

// prepare chunks and embeds a document; it does not change the index and
// may run concurrently with other prepares and commits.
func (ix *Index) prepare(ctx context.Context, in DocInput) (preparedDoc, error) {
	pieces := Chunk(in.Parsed, in.Chunk)
	if len(pieces) == 0 {
		return preparedDoc{}, ErrNoText
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
			Terms: strings.Join(ix.an.Terms(texts[i]), " ")}
	}
	for start := 0; start < len(texts); start += embedBatch {
		end := min(start+embedBatch, len(texts))
		vs, err := ix.emb.Embed(ctx, texts[start:end])
		if err != nil {
			return preparedDoc{}, fmt.Errorf("embed %s: %w", in.Source, err)
		}
		for i, v := range vs {
			if len(v) != ix.info.Dimension {
				return preparedDoc{}, fmt.Errorf("embed %s: got %d dimensions, the index has %d: %w", in.Source, len(v), ix.info.Dimension, ErrEmbedderMismatch)
			}
			chunks[start+i].Vector = v
		}
	}
	return preparedDoc{
		doc: store.Document{Path: in.Path, Source: in.Source, Title: in.Parsed.Title, URL: in.publicURL(),
			Hash: Hash(in.Content), Size: int64(len(in.Content)), SourceID: in.SourceID},
		chunks: chunks,
	}, nil
}

// commit stores a prepared document in one transaction and updates the
// in-memory indexes.
func (ix *Index) commit(ctx context.Context, p preparedDoc) (store.Document, error) {
	docs, err := ix.commitMany(ctx, []preparedDoc{p})
	if err != nil {
		return store.Document{}, err
	}
	return docs[0], nil
}

// commitMany stores prepared documents in one transaction (all or none)
// and then updates the in-memory indexes.
func (ix *Index) commitMany(ctx context.Context, batch []preparedDoc) ([]store.Document, error) {
	ix.write.Lock()
	defer ix.write.Unlock()
	in := make([]store.DocumentChunks, len(batch))
	for i, p := range batch {
		in[i] = store.DocumentChunks{Doc: p.doc, Chunks: p.chunks}
	}
	docs, err := ix.st.PutDocuments(ix.info, in)
	if errors.Is(err, store.ErrConflict) {
		return nil, fmt.Errorf("%w: %v; re-ingest with --reindex", ErrEmbedderMismatch, err)
	}
	if err != nil {
		return nil, err
	}
	for k, p := range batch {
		for i := range p.chunks {
			p.chunks[i].DocID, p.chunks[i].Seq = docs[k].ID, uint32(i)
		}
		if err := ix.replaceInMemory(ctx, docs[k].ID, p.chunks); err != nil {
			return nil, err
		}
	}
	return docs, nil
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
	langs := make([]embed.Lang, len(chunks)) // detected before searches are held up
	for i, c := range chunks {
		langs[i] = embed.Detect(c.Text)
	}
	defer ix.changed() // after the unlock below: recalibrate the threshold
	defer ix.snapshotSoon()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.gen++
	if old := ix.docs[docID]; len(old) > 0 {
		for _, s := range old {
			delete(ix.byID, ix.slots[s].id)
			ix.langs[ix.slots[s].lang]--
			ix.lex.remove(s)
			ix.vecs.clear(s)
			ix.slots[s] = slot{}
		}
		delete(ix.docs, docID)
		ix.dead += len(old)
	}
	if ix.dead > 1024 && ix.dead > len(ix.byID) {
		ix.compactSlots()
	}
	for i, c := range chunks {
		ix.addSlot(c, chunkID(c.DocID, c.Seq), langs[i])
	}
	return nil
}

// compactSlots renumbers the live slots densely so that replaced documents
// do not grow the slot table forever. Called with ix.mu held.
func (ix *Index) compactSlots() {
	remap := make([]int32, len(ix.slots))
	live := make([]slot, 0, len(ix.byID))
	for i, s := range ix.slots {
		if s.id == "" {
			remap[i] = -1
			continue
		}
		remap[i] = int32(len(live))
		live = append(live, s)
	}
	ix.lex.renumber(remap, len(live))
	ix.vecs.compact(remap, len(live))
	ix.slots = live
	for id, old := range ix.byID {
		ix.byID[id] = int(remap[old])
	}
	for d, ss := range ix.docs {
		for i, old := range ss {
			ss[i] = int(remap[old])
		}
		ix.docs[d] = ss
	}
	ix.dead = 0
}
