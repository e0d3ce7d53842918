package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Backup streams a backup of the running server's database into w
// (GET /api/backup) and returns the bytes copied. The stream is only as
// good as store.SnapshotReader finds it: a server that fails half-way cuts
// the connection, which shows as an error here or as a truncated file.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/backup", nil)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	// No overall timeout: a large database streams for minutes; ctx bounds it.
	hc := &http.Client{Transport: c.http.Transport}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /api/backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = http.StatusText(resp.StatusCode)
		}
		return 0, &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET /api/backup: the stream broke after %d bytes: %w", n, err)
	}
	return n, nil
}
