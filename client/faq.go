package client

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// FAQ is a curated answer: an operator's question, its alternative
// phrasings and the answer given when a user's question matches.
type FAQ struct {
	ID           uint64    `json:"id"`
	Question     string    `json:"question"`
	Alternatives []string  `json:"alternatives"`
	Answer       string    `json:"answer"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// FAQInput is the body of POST and PUT /api/faq; in an update a nil field
// keeps its value.
type FAQInput struct {
	Question     *string   `json:"question"`
	Alternatives *[]string `json:"alternatives"`
	Answer       *string   `json:"answer"`
}

// FAQPair is one pair of an import.
type FAQPair struct {
	Question     string   `json:"question"`
	Alternatives []string `json:"alternatives,omitempty"`
	Answer       string   `json:"answer"`
}

// FAQImport counts what an import did.
type FAQImport struct {
	Success   bool `json:"success"`
	Added     int  `json:"added"`
	Updated   int  `json:"updated"`
	Unchanged int  `json:"unchanged"`
}

// FAQMatch says which curated answer, if any, would answer a question.
type FAQMatch struct {
	Success bool    `json:"success"`
	Matched bool    `json:"matched"`
	Score   float64 `json:"score"`
	FAQ     *FAQ    `json:"faq,omitempty"`
}

type faqView struct {
	Success bool `json:"success"`
	FAQ     FAQ  `json:"faq"`
}

// ListFAQs lists the curated answers.
func (c *Client) ListFAQs(ctx context.Context) ([]FAQ, error) {
	var out struct {
		Success bool  `json:"success"`
		FAQs    []FAQ `json:"faqs"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/faq", nil, &out)
	return out.FAQs, err
}

// GetFAQ returns one curated answer.
func (c *Client) GetFAQ(ctx context.Context, id uint64) (FAQ, error) {
	var out faqView
	err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/faq/%d", id), nil, &out)
	return out.FAQ, err
}

// CreateFAQ adds a curated answer.
func (c *Client) CreateFAQ(ctx context.Context, in FAQInput) (FAQ, error) {
	var out faqView
	err := c.Do(ctx, http.MethodPost, "/api/faq", in, &out)
	return out.FAQ, err
}

// UpdateFAQ changes the fields of in that are set.
func (c *Client) UpdateFAQ(ctx context.Context, id uint64, in FAQInput) (FAQ, error) {
	var out faqView
	err := c.Do(ctx, http.MethodPut, fmt.Sprintf("/api/faq/%d", id), in, &out)
	return out.FAQ, err
}

// DeleteFAQ removes a curated answer.
func (c *Client) DeleteFAQ(ctx context.Context, id uint64) error {
	return c.Do(ctx, http.MethodDelete, fmt.Sprintf("/api/faq/%d", id), nil, &success{})
}

// ImportFAQs adds new questions and updates known ones, all or nothing.
func (c *Client) ImportFAQs(ctx context.Context, pairs []FAQPair) (FAQImport, error) {
	var out FAQImport
	err := c.Do(ctx, http.MethodPost, "/api/faq/import", map[string]any{"faqs": pairs}, &out)
	return out, err
}

// MatchFAQ says which curated answer would answer question.
func (c *Client) MatchFAQ(ctx context.Context, question string) (FAQMatch, error) {
	var out FAQMatch
	err := c.Do(ctx, http.MethodPost, "/api/faq/match", map[string]string{"question": question}, &out)
	return out, err
}
