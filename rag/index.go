// Package rag loads and chunks documents, keeps the knowledge-base index
// (a flat vector index and a BM25 lexical index, both rebuilt in memory
// from the chunks, terms and vectors stored in bbolt), retrieves passages
// with hybrid score fusion and extracts answers from them.
package rag

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// ErrEmbedderMismatch means the index was built by another embedder
// (provider, model or dimension); re-ingest with --reindex.
var ErrEmbedderMismatch = errors.New("index was built by another embedder")

// ErrClosed means the index was closed (Close released its memory).
var ErrClosed = errors.New("knowledge index closed")

// ErrBadQuery means the query is empty.
var ErrBadQuery = errors.New("invalid query")

// MaxQueryBytes bounds the part of a query that is searched; a longer
// query (a 10 KB message) is cut at this length, on a character boundary.
const MaxQueryBytes = 2048

// maxQueryTerms bounds the distinct lexical terms of one query.
const maxQueryTerms = 64

// DefaultK is the number of passages Search returns for k <= 0.
const DefaultK = 5

// maxK bounds k.
const maxK = 100

// DefaultMinScore is the fused relevance below which Search returns
// nothing until the index's own threshold is calibrated (calibrate.go).
const DefaultMinScore = 0.25

// hybridLexicalWeight is the share of the lexical score in the fused one:
// equal shares.
const hybridLexicalWeight = 0.5

// Feedback: the query vector is moved towards the centroid of the
// vectors of the passages on the lexical side's plateau, at most
// feedbackDocs of them, whose lexical score is within feedbackPlateau of
// the best one, with feedbackWeight (Rocchio's classic beta). See
// fusion.go for why the plateau and not the first-pass top ten.
const (
	feedbackDocs    = 3
	feedbackPlateau = 0.95
	feedbackWeight  = 1.0
)

// Mode chooses the retrieval signals.
type Mode string

// Retrieval modes: both signals fused (the default), or one alone.
const (
	ModeHybrid  Mode = "hybrid"
	ModeLexical Mode = "lexical"
	ModeVector  Mode = "vector"
)

// Options tune an Index. The zero value is usable.
type Options struct {
	// MinScore is the minimum-relevance threshold: 0 means calibrated
	// from the index's own scores (calibrate.go), a positive value is
	// used as it is, a negative value disables it.
	MinScore float64
	// Mode is the retrieval mode (default ModeHybrid).
	Mode Mode
	// LexicalWeight is the lexical share of the hybrid score, 0..1
	// (default 0.5); the vector similarity has the rest.
	LexicalWeight float64
	// Reindex drops an index built by another embedder instead of refusing it.
	Reindex bool
	// Log receives the snapshot's messages (loaded, written, not used and
	// why); nil discards them.
	Log *slog.Logger
	// ExactBelow is the number of chunks below which a vector search
	// scans every vector; from it on it uses the approximate index
	// (ann.go). 0 means DefaultExactBelow; negative means always the
	// approximate index (for measuring it on a small knowledge base).
	ExactBelow int
	// vectorsInFileFrom is the bytes of float32 vectors from which they
	// are read from the snapshot file (vectors_file.go): 0 means
	// fileRowsFrom, negative always (tests).
	vectorsInFileFrom int
}

// Index is the knowledge base. The store holds the truth (documents,
// chunks, terms, vectors); the vector and lexical indexes are in memory, built at Open and kept in step by every change. Safe for
// concurrent use; changes are serialised.
type Index struct {
	st   *store.Store
	emb  embed.Embedder
	an   *embed.Analyzer
	info store.IndexInfo
	opts Options
	// parallelFrom is the live chunks from which a hybrid search runs its
	// two sides at once (parallelSidesFrom; tests lower it).
	parallelFrom int

	write sync.Mutex // one change at a time (store, then memory)

	mu    sync.RWMutex
	vecs  *vectors // by slot, like slots
	lex   *lexical
	slots []slot         // by slot number; removed ones have id ""
	byID  map[string]int // chunk id -> slot
	docs  map[uint64][]int
	dead  int // removed slots not yet compacted away
	// langs counts the live chunks per language: a question is analysed
	// in one of its documents' languages (see docLangs).
	langs map[embed.Lang]int
	// closed is set by Close, which releases the vectors: searches
	// check it under mu.
	closed bool
	// textMem holds the slots' strings when they were loaded from a
	// snapshot (off the Go heap, mem.go); released at Close.
	textMem mapping
	// gen counts the changes to the in-memory index: the calibration
	// records the one it was computed at.
	gen uint64

	// annReady is set once Open has trained the approximate index (when
	// due): from then on growth retrains it in the background (annBusy).
	annReady bool
	annBusy  atomic.Bool

	log *slog.Logger
	// The snapshot (snapshot.go): written after a quiet period following
	// changes and at Close. snapWritten and snapGen (ix.gen when it was
	// last written or loaded) are guarded by write.
	snapMu      sync.Mutex
	snapTimer   *time.Timer
	snapClosed  bool
	snapTook    time.Duration // the last write; guarded by snapMu
	snapRunning sync.WaitGroup
	snapWritten bool
	snapGen     uint64

	calRun    sync.Mutex   // one calibration at a time
	calBusy   atomic.Bool  // a background calibration is running
	calMu     sync.RWMutex // guards cal and calSignal
	cal       Calibration
	calSignal chan struct{} // closed when the next calibration is stored
}

type slot struct {
	id      string
	docID   uint64
	title   string
	heading string
	source  string
	text    string
	lang    embed.Lang
}

// prober is an embedder that learns its dimension on first contact (Ollama).
type prober interface {
	Probe(ctx context.Context) (embed.Info, error)
}

// Open loads the index from the store. emb must be the embedder that built
// it (ErrEmbedderMismatch otherwise, unless opts.Reindex, which empties it).
func Open(ctx context.Context, st *store.Store, emb embed.Embedder, opts Options) (*Index, error) {
	if opts.LexicalWeight <= 0 || opts.LexicalWeight > 1 {
		opts.LexicalWeight = hybridLexicalWeight
	}
	if opts.Mode == "" {
		opts.Mode = ModeHybrid
	}
	switch opts.Mode {
	case ModeHybrid, ModeLexical, ModeVector:
	default:
		return nil, fmt.Errorf("unknown retrieval mode %q (hybrid, lexical or vector)", opts.Mode)
	}
	ei := emb.Info()
	if ei.Dimension == 0 {
		p, ok := emb.(prober)
		if !ok {
			return nil, fmt.Errorf("embedder %s does not report its dimension", ei)
		}
		var err error
		if ei, err = p.Probe(ctx); err != nil {
			return nil, fmt.Errorf("open knowledge index: %w", err)
		}
	}
	info := store.IndexInfo{Provider: ei.Provider, Model: ei.Model, Dimension: ei.Dimension, Analyzer: embed.AnalyzerVersion}
	an := embed.NewAnalyzer()
	have, err := st.KnowledgeIndexInfo()
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("open knowledge index: %w", err)
	case have != info && !opts.Reindex && rederivable(have, info):
		if err := rederive(ctx, st, emb, an, have, info); err != nil {
			return nil, fmt.Errorf("open knowledge index: %w", err)
		}
	case have != info:
		docs, err := st.Documents()
		if err != nil {
			return nil, fmt.Errorf("open knowledge index: %w", err)
		}
		if len(docs) > 0 && !opts.Reindex {
			return nil, fmt.Errorf("%w: it was built with %s/%s (dimension %d) and this run uses %s/%s (dimension %d); "+
				"re-ingest with --reindex to rebuild it, or use the same embedder", ErrEmbedderMismatch,
				have.Provider, have.Model, have.Dimension, info.Provider, info.Model, info.Dimension)
		}
	}
	if opts.Reindex {
		if err := st.ResetKnowledge(info); err != nil {
			return nil, fmt.Errorf("reindex: %w", err)
		}
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ix := &Index{st: st, emb: emb, an: an, info: info, opts: opts, log: log, parallelFrom: parallelSidesFrom}
	if ix.loadFromSnapshot() {
		ix.snapWritten = true
	} else {
		if err := ix.load(ctx); err != nil {
			return nil, err
		}
		ix.snapshotSoon() // the next start need not rebuild
	}
	ix.vecs.exactBelow = exactBelow(opts.ExactBelow)
	ix.trainANNNow()
	ix.annReady = true
	ix.changed()
	return ix, nil
}

// load rebuilds the in-memory indexes from the store. Reading and
// decoding the chunks (one goroutine, inside a bbolt read transaction) runs
// alongside indexing them (this goroutine).
func (ix *Index) load(ctx context.Context) error {
	// Size the tables from the documents' chunk counts: growing them by
	// doubling while loading 100,000 chunks held both copies at once.
	docs, err := ix.st.Documents()
	if err != nil {
		return fmt.Errorf("load knowledge index: %w", err)
	}
	total := 0
	for _, d := range docs {
		total += d.Chunks
	}
	ix.vecs, ix.lex = newVectors(ix.info.Dimension, total), newLexical()
	ix.slots, ix.byID, ix.docs = make([]slot, 0, total), make(map[string]int, total), make(map[uint64][]int, len(docs))
	ix.langs = map[embed.Lang]int{}

	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The reader also detects each chunk's language: it is the costliest
	// part of indexing a chunk after the vector, and runs on the other core.
	chunks := make(chan []loadedChunk, 4)
	readErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		defer func() {
			if r := recover(); r != nil {
				readErr <- fmt.Errorf("read chunks: %v", r)
			}
		}()
		var group []loadedChunk
		err := ix.st.EachChunk(func(c store.Chunk) error {
			group = append(group, loadedChunk{c, embed.Detect(c.Text)})
			if len(group) < 1024 {
				return nil
			}
			select {
			case chunks <- group:
				group = make([]loadedChunk, 0, 1024)
				return nil
			case <-lctx.Done():
				return lctx.Err()
			}
		})
		if err == nil && len(group) > 0 {
			select {
			case chunks <- group:
			case <-lctx.Done():
				err = lctx.Err()
			}
		}
		readErr <- err
	}()
	var idxErr error
	for group := range chunks {
		if idxErr != nil {
			continue // drain so the reader finishes
		}
		for _, lc := range group {
			c := lc.Chunk
			if len(c.Vector) != ix.info.Dimension {
				idxErr = fmt.Errorf("chunk %d-%d has %d dimensions, the index %d: %w", c.DocID, c.Seq, len(c.Vector), ix.info.Dimension, ErrEmbedderMismatch)
				cancel()
				break
			}
			ix.addSlot(c, chunkID(c.DocID, c.Seq), lc.lang)
		}
	}
	err = <-readErr
	if idxErr != nil {
		err = idxErr
	}
	if err != nil {
		return fmt.Errorf("load knowledge index: %w", err)
	}
	return nil
}

// exactBelow is the vectors' exact-scan threshold for Options.ExactBelow.
func exactBelow(opt int) int {
	switch {
	case opt < 0:
		return 0
	case opt > 0:
		return opt
	}
	return DefaultExactBelow
}

func chunkID(doc uint64, seq uint32) string {
	return strconv.FormatUint(doc, 10) + "-" + strconv.FormatUint(uint64(seq), 10)
}

// loadedChunk is a chunk read from the store with its detected language.
type loadedChunk struct {
	store.Chunk
	lang embed.Lang
}

// addSlot records a chunk (in language lang) in the slot table and both
// indexes.
func (ix *Index) addSlot(c store.Chunk, id string, lang embed.Lang) {
	n := len(ix.slots)
	ix.vecs.add(c.Vector)
	ix.langs[lang]++
	ix.slots = append(ix.slots, slot{id: id, docID: c.DocID, title: c.Title, heading: c.Heading, source: c.Source, text: c.Text, lang: lang})
	ix.byID[id] = n
	ix.docs[c.DocID] = append(ix.docs[c.DocID], n)
	ix.lex.add(n, strings.Fields(c.Terms))
	ix.maybeTrainANN()
}

// Info is the embedder the index is built with.
func (ix *Index) Info() store.IndexInfo { return ix.info }

// Len is the number of chunks in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// parallelSidesFrom is the size from which a hybrid search runs its
// vector and lexical sides at once, on two cores: below it a side takes
// well under a millisecond, less than handing it over is worth under load.
const parallelSidesFrom = 100_000

// Search returns up to k passages (k <= 0 means DefaultK) whose fused
// relevance is at or above the threshold, best first; an empty slice means
// nothing relevant. An empty query is ErrBadQuery; a long one is searched
// by its first MaxQueryBytes.
func (ix *Index) Search(ctx context.Context, query string, k int) ([]Passage, error) {
	res, err := ix.search(ctx, query, k, ix.opts.Mode)
	if err != nil {
		return nil, err
	}
	out := make([]Passage, 0, len(res))
	minScore := ix.minScore(ix.opts.Mode)
	for _, p := range res {
		if minScore >= 0 && p.Score < minScore {
			break
		}
		out = append(out, p)
	}
	return out, nil
}

func (ix *Index) search(ctx context.Context, query string, k int, mode Mode) ([]Passage, error) {
	return ix.searchWith(ctx, retrievalQuery(query), k, mode, func(cands []candidate, _ []float32) []scored {
		return ix.boostCues(query, mode, fuse(cands, mode, ix.opts.LexicalWeight))
	})
}

// searchWith is search with the candidates ranked by rank (called with
// ix.mu held for reading).
func (ix *Index) searchWith(ctx context.Context, query string, k int, mode Mode, rank func(cands []candidate, qv []float32) []scored) ([]Passage, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return nil, fmt.Errorf("%w: the question is empty", ErrBadQuery)
	}
	if len(q) > MaxQueryBytes {
		cut := MaxQueryBytes
		for cut > 0 && !utf8.RuneStart(q[cut]) {
			cut--
		}
		q = q[:cut]
	}
	if k <= 0 {
		k = DefaultK
	}
	k = min(k, maxK)
	// The question is analysed in the language of the documents it is
	// most likely about: detection on a short question alone often guesses
	// a language none of them is in.
	ix.mu.RLock()
	lang := embed.DetectAmong(q, ix.docLangs())
	ix.mu.RUnlock()
	terms := uniqueTerms(ix.an.TermsIn(q, lang), maxQueryTerms)

	var qv []float32
	_, weighted := ix.emb.(queryEmbedder)
	if mode != ModeLexical && !weighted {
		// A remote embedder (Ollama) is called before taking the lock, so
		// that a slow answer never holds up an ingest.
		vs, err := ix.emb.Embed(ctx, []string{q})
		if err != nil {
			return nil, fmt.Errorf("embed the question: %w", err)
		}
		qv = vs[0]
	}

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return nil, ErrClosed
	}
	if mode != ModeLexical && weighted {
		var err error
		if qv, err = ix.embedQuery(ctx, q, lang); err != nil {
			return nil, err
		}
	}
	live := len(ix.byID)
	if live == 0 {
		return []Passage{}, nil
	}
	pool := min(max(4*k, 50), live)
	var (
		near      []scored
		lexScores *lexHits
		lexTop    []scored
	)
	// Deferred as a closure: it releases the scores set below, also when
	// the vector side panics after the lexical side got them.
	defer func() { lexScores.release() }()
	twoCores := mode == ModeHybrid && live >= ix.parallelFrom && runtime.GOMAXPROCS(0) > 1
	var rows map[int][]float32
	if twoCores {
		// The two sides on two cores: at a million chunks each is 5-8 ms
		// of CPU. The other goroutine reads under this call's read lock,
		// which is held until it has stopped (both). The lexical side,
		// usually the shorter, also reads its candidates' vectors.
		both(func() { near, qv = ix.vectorSide(qv, pool, mode) },
			func() {
				lexScores, lexTop = ix.lexicalSide(terms, pool, mode)
				rows = ix.vecs.rowsOf(lexTop)
			})
	} else {
		near, qv = ix.vectorSide(qv, pool, mode)
		lexScores, lexTop = ix.lexicalSide(terms, pool, mode)
	}
	cands, qv := ix.candidates(qv, near, lexScores, lexTop, mode, rows, twoCores)
	ranked := rank(cands, qv)
	ix.logReadErrors()
	vecScores := make(map[int]float64, len(cands))
	for _, c := range cands {
		vecScores[c.slot] = c.vector(mode)
	}
	if len(ranked) > k {
		ranked = ranked[:k]
	}
	out := make([]Passage, 0, len(ranked))
	for _, r := range ranked {
		s := ix.slots[r.slot]
		// Copies: the slots' strings may live in an arena released at
		// Close (Index.textMem), and a passage outlives the lock.
		p := Passage{
			ChunkID: strings.Clone(s.id), DocID: strconv.FormatUint(s.docID, 10), Title: strings.Clone(s.title), Heading: strings.Clone(s.heading),
			Source: strings.Clone(s.source), Text: strings.Clone(s.text), Score: r.score,
		}
		if mode != ModeLexical {
			p.VectorScore = math.Max(vecScores[r.slot], 0)
		}
		if mode != ModeVector {
			p.LexicalScore = lexScores.get(r.slot)
		}
		out = append(out, p)
	}
	return out, nil
}

// queryEmbedder embeds a query in a given language with per-term weights
// (the built-in embedder weighs words by the index's inverse document
// frequency).
type queryEmbedder interface {
	EmbedQueryIn(ctx context.Context, query string, lang embed.Lang, weight func(stem string) float64) ([]float32, error)
}

// minLangShare is the share of the chunks a language needs before a
// question may be taken for it: below it the few chunks are as likely to
// be detection errors (a product name, a quotation) as the knowledge
// base's language.
const minLangShare = 0.1

// docLangs returns the languages of at least minLangShare of the live
// chunks, commonest first; called with ix.mu held.
func (ix *Index) docLangs() []embed.Lang {
	out := make([]embed.Lang, 0, len(ix.langs))
	for l, n := range ix.langs {
		if n > 0 && float64(n) >= minLangShare*float64(len(ix.byID)) {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if ix.langs[out[i]] != ix.langs[out[j]] {
			return ix.langs[out[i]] > ix.langs[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// embedQuery embeds the question with the index's IDF weights; called
// with ix.mu held for reading (the weights read the lexical index).
func (ix *Index) embedQuery(ctx context.Context, q string, lang embed.Lang) ([]float32, error) {
	v, err := ix.emb.(queryEmbedder).EmbedQueryIn(ctx, q, lang, ix.lex.idfOf)
	if err != nil {
		return nil, fmt.Errorf("embed the question: %w", err)
	}
	return v, nil
}

func uniqueTerms(terms []string, n int) []string {
	seen := make(map[string]bool, len(terms))
	out := terms[:0:0]
	for _, t := range terms {
		if !seen[t] && len(out) < n {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// unitVector returns v scaled to length 1 (a copy), or v when it is zero.
func unitVector(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return v
	}
	inv := 1 / math.Sqrt(n)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out
}

func dot(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	return float64(dot32(a, b))
}
