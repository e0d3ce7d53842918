package client

import (
	"context"
	"fmt"
	"net/http"
)

// success is the answer of the calls that report nothing else.
type success struct {
	Success bool `json:"success"`
}

// CreateSource adds a knowledge source (POST /api/sources).
func (c *Client) CreateSource(ctx context.Context, in SourceRequest) (Source, error) {
	var out struct {
		Success bool   `json:"success"`
		Source  Source `json:"source"`
	}
	err := c.Do(ctx, http.MethodPost, "/api/sources", in, &out)
	return out.Source, err
}

// ListSources lists the knowledge sources.
func (c *Client) ListSources(ctx context.Context) ([]Source, error) {
	var out struct {
		Success bool     `json:"success"`
		Sources []Source `json:"sources"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/sources", nil, &out)
	return out.Sources, err
}

// GetSource returns a source with its documents.
func (c *Client) GetSource(ctx context.Context, id uint64) (SourceView, error) {
	var out SourceView
	err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/sources/%d", id), nil, &out)
	return out, err
}

// DeleteSource removes a source and its documents.
func (c *Client) DeleteSource(ctx context.Context, id uint64) error {
	return c.Do(ctx, http.MethodDelete, fmt.Sprintf("/api/sources/%d", id), nil, &success{})
}

// SyncSource syncs a source now and returns the report.
func (c *Client) SyncSource(ctx context.Context, id uint64) (SyncReport, error) {
	var out struct {
		Success bool       `json:"success"`
		Report  SyncReport `json:"report"`
	}
	err := c.Do(ctx, http.MethodPost, fmt.Sprintf("/api/sources/%d/sync", id), nil, &out)
	return out.Report, err
}
