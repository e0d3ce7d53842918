package rag

import (
	"context"
	"fmt"
	"strings"

	"github.com/chatbot/chatbot/embed"
)

// VectorRecall is how much of the exact vector scan's top ten the vector
// search finds, as Search runs it (the IVF from ExactBelow chunks on).
type VectorRecall struct {
	Questions int
	// AtTen is the mean tie-aware recall@10: a returned chunk counts when
	// its exact score is at least the exact tenth best's less 1e-6.
	AtTen float64
	// Approximate is whether the IVF answered; without it the search is
	// the exact scan and the recall 1 by construction.
	Approximate bool
	Chunks      int
}

func (r VectorRecall) String() string {
	how := "exact scan"
	if r.Approximate {
		how = "IVF"
	}
	return fmt.Sprintf("recall@10 %.4f over %d questions (%s, %d chunks)", r.AtTen, r.Questions, how, r.Chunks)
}

// MeasureVectorRecall compares the vector search Search runs for k = 5
// (recallPool chunks wanted) with the exact scan over every chunk, for
// each question: the figure `chatbot bench` reports against issue 20's
// goal (recall@10 >= 0.95 at a million chunks). Each question costs an
// exact scan, about 0.1 s at a million chunks with the rows in the file.
func (ix *Index) MeasureVectorRecall(ctx context.Context, questions []string) (VectorRecall, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return VectorRecall{}, ErrClosed
	}
	out := VectorRecall{Chunks: len(ix.byID)}
	if out.Chunks == 0 {
		return out, fmt.Errorf("measure recall: the index is empty")
	}
	if _, ok := ix.emb.(queryEmbedder); !ok {
		// A remote embedder would be called with the index locked.
		return out, fmt.Errorf("measure recall: only with the built-in embedder, not %s", ix.emb.Info().Model)
	}
	dead := func(s int) bool { return ix.slots[s].id == "" }
	out.Approximate = ix.vecs.usesIVF(recallPool)
	var sum float64
	for _, q := range questions {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		q = strings.TrimSpace(retrievalQuery(q))
		if q == "" {
			continue
		}
		lang := embed.DetectAmong(q, ix.docLangs())
		qv, err := ix.embedQuery(ctx, q, lang)
		if err != nil {
			return out, fmt.Errorf("measure recall: embed %q: %w", q, err)
		}
		qv = unitVector(qv)
		sum += tieAwareRecall(ix.vecs, qv, ix.vecs.nearest(qv, recallPool, dead), 10, dead)
		out.Questions++
	}
	ix.logReadErrors()
	if out.Questions == 0 {
		return out, fmt.Errorf("measure recall: no question to ask")
	}
	out.AtTen = sum / float64(out.Questions)
	return out, nil
}

// recallPool is the vector pool Search takes for k = 5 (candidates:
// max(4k, 50)).
const recallPool = 50

// tieAwareRecall is the share of got whose exact score is at least the
// exact k-th best score less 1e-6: a returned slot that ties with the
// k-th counts (templated knowledge bases have many ties).
func tieAwareRecall(vs *vectors, q []float32, got []scored, k int, dead func(int) bool) float64 {
	want := vs.exactAll(q, k, dead)
	if len(want) == 0 {
		return 1
	}
	kth := want[len(want)-1].score
	hit := 0
	for _, g := range got[:min(k, len(got))] {
		if !dead(g.slot) && float64(dot32(q, vs.get(g.slot))) >= kth-1e-6 {
			hit++
		}
	}
	return float64(hit) / float64(len(want))
}
