package rag

// Passage is one retrieved chunk with its provenance.
type Passage struct {
	ChunkID string  `json:"chunk_id"`
	DocID   string  `json:"doc_id"`
	Title   string  `json:"title"`   // document title
	Heading string  `json:"heading"` // heading path, "Billing > Refunds"
	Source  string  `json:"source"`  // "docs/billing.md#refunds"
	Text    string  `json:"text"`
	Score   float64 `json:"score"` // fused relevance, 0..1, comparable to the threshold
}
