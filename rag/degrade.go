package rag

import "context"

// SearchLexical is Search with the lexical signal alone: it makes no
// embedding call, so it still works while the embedder (Ollama) is down.
// The same threshold applies to the lexical score.
func (ix *Index) SearchLexical(ctx context.Context, query string, k int) ([]Passage, error) {
	res, err := ix.search(ctx, query, k, ModeLexical)
	if err != nil {
		return nil, err
	}
	out := make([]Passage, 0, len(res))
	minScore := ix.minScore(ModeLexical)
	for _, p := range res {
		if minScore >= 0 && p.Score < minScore {
			break
		}
		out = append(out, p)
	}
	return out, nil
}
