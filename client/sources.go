package client

import (
	"context"
	"fmt"

	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
)

// CreateSource adds a knowledge source (POST /api/sources).
func (c *Client) CreateSource(ctx context.Context, in rag.SourceRequest) (store.Source, error) {
	var out struct {
		Source store.Source `json:"source"`
	}
	err := c.Do(ctx, "POST", "/api/sources", in, &out)
	return out.Source, err
}

// ListSources lists the knowledge sources.
func (c *Client) ListSources(ctx context.Context) ([]store.Source, error) {
	var out struct {
		Sources []store.Source `json:"sources"`
	}
	err := c.Do(ctx, "GET", "/api/sources", nil, &out)
	return out.Sources, err
}

// GetSource returns a source with its documents.
func (c *Client) GetSource(ctx context.Context, id uint64) (rag.SourceView, error) {
	var out rag.SourceView
	err := c.Do(ctx, "GET", fmt.Sprintf("/api/sources/%d", id), nil, &out)
	return out, err
}

// DeleteSource removes a source and its documents.
func (c *Client) DeleteSource(ctx context.Context, id uint64) error {
	return c.Do(ctx, "DELETE", fmt.Sprintf("/api/sources/%d", id), nil, nil)
}

// SyncSource syncs a source now and returns the report.
func (c *Client) SyncSource(ctx context.Context, id uint64) (rag.SyncReport, error) {
	var out struct {
		Report rag.SyncReport `json:"report"`
	}
	err := c.Do(ctx, "POST", fmt.Sprintf("/api/sources/%d/sync", id), nil, &out)
	return out.Report, err
}
