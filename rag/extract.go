package rag

// Extract is the extractive answerer: the maxSentences most relevant
// sentences of the best passages, quoted, each with its source. used lists
// the passages quoted. No passages give an empty answer.
func Extract(query string, passages []Passage, maxSentences int) (answer string, used []Passage) {
	return "", nil
}
