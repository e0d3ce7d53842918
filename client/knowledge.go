package client

import (
	"context"
	"net/http"
	"strconv"
)

// Documents lists the indexed documents and the index they are in.
func (c *Client) Documents(ctx context.Context) (Documents, error) {
	var out Documents
	err := c.Do(ctx, http.MethodGet, "/api/knowledge/documents", nil, &out)
	return out, err
}

// DeleteDocument removes a document and its chunks from the index.
func (c *Client) DeleteDocument(ctx context.Context, id uint64) error {
	return c.Do(ctx, http.MethodDelete, "/api/knowledge/documents/"+strconv.FormatUint(id, 10), nil, &success{})
}

// Search returns the k passages most relevant to query (k 0: the
// server's default).
func (c *Client) Search(ctx context.Context, query string, k int) ([]Passage, error) {
	in := searchRequest{Query: query, K: k}
	var out struct {
		Success  bool      `json:"success"`
		Passages []Passage `json:"passages"`
	}
	err := c.Do(ctx, http.MethodPost, "/api/knowledge/search", in, &out)
	return out.Passages, err
}

// Ingest asks the server to read and index the paths, which must be
// absolute and below its --knowledge-root folders.
func (c *Client) Ingest(ctx context.Context, in IngestRequest) (IngestSummary, error) {
	var out struct {
		Success bool          `json:"success"`
		Summary IngestSummary `json:"summary"`
	}
	err := c.Do(ctx, http.MethodPost, "/api/knowledge/ingest", in, &out)
	return out.Summary, err
}

// Ready asks the server whether it can answer, and how (GET /readyz).
func (c *Client) Ready(ctx context.Context) (Readiness, error) {
	var out Readiness
	err := c.Do(ctx, http.MethodGet, "/readyz", nil, &out)
	return out, err
}

// searchRequest is the body of POST /api/knowledge/search.
type searchRequest struct {
	Query string `json:"query"`
	K     int    `json:"k"`
}
