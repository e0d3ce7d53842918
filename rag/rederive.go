package rag

import (
	"context"
	"fmt"
	"strings"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// rederivable reports whether a knowledge base recorded as have can be
// brought to want from the chunks' stored text alone, without a re-ingest:
// the same embedder with a newer lexical analysis, or a newer version of
// the built-in embedder (which is a function of the text). A change of
// real embedding model or dimension still needs --reindex.
func rederivable(have, want store.IndexInfo) bool {
	if have.Provider != want.Provider || have.Dimension != want.Dimension {
		return false
	}
	return have.Model == want.Model || want.Provider == embed.BuiltinProvider
}

// rederive recomputes every chunk's terms (and, for the built-in embedder,
// its vector) with this version's analysis, so an upgrade keeps the
// operator's documents, uploads included, searchable as before.
func rederive(ctx context.Context, st *store.Store, emb embed.Embedder, an *embed.Analyzer, have, want store.IndexInfo) error {
	// The built-in embedder hashes the analyser's stems: its vectors are
	// stale when the analysis changed even if its model name did not.
	revector := have.Model != want.Model || (want.Provider == embed.BuiltinProvider && have.Analyzer != want.Analyzer)
	_, err := st.RederiveChunks(want, func(c store.Chunk) (string, []float32, error) {
		text := indexText(Piece{Heading: c.Heading, Text: c.Text})
		terms := strings.Join(an.Terms(text), " ")
		if !revector {
			return terms, c.Vector, nil
		}
		vs, err := emb.Embed(ctx, []string{text})
		if err != nil {
			return "", nil, fmt.Errorf("embed: %w", err)
		}
		return terms, vs[0], nil
	})
	return err
}
