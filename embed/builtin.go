package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrEmptyText is returned for a text with nothing but white space: its
// vector would be all zeros, which makes cosine similarity NaN.
var ErrEmptyText = errors.New("text is empty")

const (
	// BuiltinProvider is the provider name the built-in embedder reports.
	BuiltinProvider = "builtin"
	// builtinModel names the feature set; change it whenever the features
	// change. An index made by an older version is re-embedded from its
	// stored text at start (rag.Open), never silently mixed.
	// v2: text is analysed in its own language (stop words, stemmer,
	// Arabic normalisation, CJK bigrams) instead of always as English.
	// v3: English irregular forms are stemmed as their base form (the
	// word features hash stems, so AnalyzerVersion lang-v2 changes them).
	builtinModel = "hash-v3"
	builtinDim   = 512
)

// Builtin embeds texts with hashed features, no model needed: stemmed words,
// word bigrams and character n-grams of each word, with sublinear term
// frequency, signed feature hashing into a fixed dimension and L2
// normalisation. It is deterministic and pure Go.
type Builtin struct {
	dim int
	an  *Analyzer
}

// NewBuiltin returns the built-in embedder.
func NewBuiltin() *Builtin { return &Builtin{dim: builtinDim, an: NewAnalyzer()} }

// Info reports provider "builtin", model "hash-v3".
func (b *Builtin) Info() Info {
	return Info{Provider: BuiltinProvider, Model: builtinModel, Dimension: b.dim}
}

// Embed returns one normalised vector per text. A text that is empty or
// only white space is an error naming its position.
func (b *Builtin) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		v, err := b.vector(t, Detect(t), nil)
		if err != nil {
			return nil, fmt.Errorf("embed text %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

// Feature weights: whole stemmed words carry most of the meaning; bigrams
// add phrase matches; character n-grams catch spelling variants and
// compounds that stemming misses.
const (
	weightWord   = 1.0
	weightBigram = 0.5
	weightChars  = 0.6 // shared by all n-grams of one word
)

// EmbedQuery embeds a query with each word's features scaled by
// weight(stem), e.g. the index's inverse document frequency, so that rare
// words steer the query vector more than common ones. A nil weight is Embed.
func (b *Builtin) EmbedQuery(ctx context.Context, query string, weight func(stem string) float64) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return b.vector(query, Detect(query), weight)
}

// EmbedQueryIn is EmbedQuery with the query's language given (e.g.
// detected among the languages of the index's documents).
func (b *Builtin) EmbedQueryIn(ctx context.Context, query string, lang Lang, weight func(stem string) float64) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return b.vector(query, lang, weight)
}

func (b *Builtin) vector(text string, lang Lang, weight func(string) float64) ([]float32, error) {
	if strings.TrimSpace(text) == "" {
		return nil, ErrEmptyText
	}
	// Word and bigram features get sublinear term frequency, so they are
	// summed per feature first; character n-grams (each well below weight
	// 1) go straight into the vector.
	v := make([]float64, b.dim)
	feats := make(map[uint64]float64, len(text)/8)
	add := func(kind byte, s string, w float64) {
		feats[hashFeature(kind, s)] += w
	}
	prev := ""
	for _, w := range Words(text) {
		if IsStopWordIn(w, lang) {
			prev = ""
			continue
		}
		st := b.an.StemIn(w, lang)
		q := 1.0
		if weight != nil {
			q = weight(st)
		}
		add('w', st, q*weightWord)
		if prev != "" {
			add('b', prev+" "+st, q*weightBigram)
		}
		prev = st
		b.addCharGrams(v, w, q*weightChars)
	}
	if len(feats) == 0 {
		// Only stop words or symbols: hash the raw words so the text still
		// has a direction of its own.
		for _, f := range strings.Fields(strings.ToLower(text)) {
			add('r', f, 1)
		}
	}
	for h, w := range feats {
		b.project(v, h, sublinear(w))
	}
	var sum float64
	for _, x := range v {
		sum += x * x
	}
	if sum == 0 {
		return nil, ErrEmptyText
	}
	norm := math.Sqrt(sum)
	out := make([]float32, b.dim)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out, nil
}

// sublinear damps repeated features: 1+ln(w) from a weight of 1 up, and
// the weight itself below 1 (where 1+ln(w) would shrink or turn negative).
func sublinear(w float64) float64 {
	if w < 1 {
		return w
	}
	return 1 + math.Log(w)
}

// addCharGrams adds the character 3- to 5-grams of a word with boundary
// markers ("<cat>" -> "<ca", "cat", "at>", "<cat", ...), sharing weight w.
func (b *Builtin) addCharGrams(v []float64, word string, w float64) {
	m := "<" + word + ">"
	var starts [64]int
	pos := starts[:0]
	for i := range m {
		pos = append(pos, i)
	}
	pos = append(pos, len(m))
	runes := len(pos) - 1
	count := 0
	for n := 3; n <= 5; n++ {
		count += max(runes-n+1, 0)
	}
	if count == 0 {
		return
	}
	each := w / float64(count)
	for n := 3; n <= 5; n++ {
		for i := 0; i+n <= runes; i++ {
			b.project(v, hashFeature('c', m[pos[i]:pos[i+n]]), each)
		}
	}
}

// project adds w to the coordinate of feature hash h, with the sign taken
// from the hash's top bit so that collisions cancel out on average.
func (b *Builtin) project(v []float64, h uint64, w float64) {
	if h>>63 == 1 {
		w = -w
	}
	v[h%uint64(b.dim)] += w
}

// hashFeature is FNV-1a over the kind byte and the feature's bytes.
func hashFeature(kind byte, s string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	h ^= uint64(kind)
	h *= prime
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return h
}
