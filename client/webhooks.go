package client

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// CreateConfig creates a webhook config.
func (c *Client) CreateConfig(ctx context.Context, in ConfigInput) (ConfigView, error) {
	var out struct {
		Success bool       `json:"success"`
		Config  ConfigView `json:"config"`
	}
	err := c.Do(ctx, http.MethodPost, "/api/webhook/config", in, &out)
	return out.Config, err
}

// ListConfigs lists the webhook configs.
func (c *Client) ListConfigs(ctx context.Context) ([]ConfigView, error) {
	var out struct {
		Success bool         `json:"success"`
		Configs []ConfigView `json:"configs"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/webhook/config", nil, &out)
	return out.Configs, err
}

// GetConfig returns one webhook config.
func (c *Client) GetConfig(ctx context.Context, id uint64) (ConfigView, error) {
	var out struct {
		Success bool       `json:"success"`
		Config  ConfigView `json:"config"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/webhook/config/"+strconv.FormatUint(id, 10), nil, &out)
	return out.Config, err
}

// DeleteConfig deletes a webhook config.
func (c *Client) DeleteConfig(ctx context.Context, id uint64) error {
	return c.Do(ctx, http.MethodDelete, "/api/webhook/config/"+strconv.FormatUint(id, 10), nil, &success{})
}

// FindConfig returns the config with id or name ref.
func (c *Client) FindConfig(ctx context.Context, ref string) (ConfigView, error) {
	if id, err := strconv.ParseUint(ref, 10, 64); err == nil {
		v, err := c.GetConfig(ctx, id)
		if ae, ok := err.(*APIError); !ok || ae.Status != http.StatusNotFound {
			return v, err
		}
	}
	all, err := c.ListConfigs(ctx)
	if err != nil {
		return ConfigView{}, err
	}
	for _, v := range all {
		if strings.EqualFold(v.Name, ref) {
			return v, nil
		}
	}
	return ConfigView{}, &APIError{Status: http.StatusNotFound, Message: fmt.Sprintf("webhook config %q not found", ref)}
}
