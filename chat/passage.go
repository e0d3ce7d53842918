package chat

// Passage mirrors rag.Passage until the kb branch is merged.
type Passage struct {
	ChunkID string  `json:"chunk_id"`
	DocID   string  `json:"doc_id"`
	Title   string  `json:"title"`
	Heading string  `json:"heading"`
	Source  string  `json:"source"`
	Text    string  `json:"text"`
	Score   float64 `json:"score"`
}
