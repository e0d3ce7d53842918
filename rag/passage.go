package rag

// Passage is one retrieved chunk with its provenance.
type Passage struct {
	ChunkID string `json:"chunk_id"`
	DocID   string `json:"doc_id"`
	Title   string `json:"title"`   // document title
	Heading string `json:"heading"` // heading path, "Billing > Refunds"
	Source  string `json:"source"`  // "docs/billing.md#refunds"
	// URL is the document's public address for customers, when known
	// (Index.WithURLs fills it in); never a file path.
	URL   string  `json:"url,omitempty"`
	Text  string  `json:"text"`
	Score float64 `json:"score"` // fused relevance, 0..1, comparable to the threshold
	// The two signals behind Score, for showing why a passage matched: the
	// cosine similarity of its vector (after feedback, negative as 0) and
	// its normalised BM25 score. The one a search mode does not use is 0.
	VectorScore  float64 `json:"vector_score"`
	LexicalScore float64 `json:"lexical_score"`
}
