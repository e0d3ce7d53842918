package tools

import (
	"encoding/json"
	"fmt"

	"github.com/chatbot/chatbot/store"
)

// FromRecord is the declaration of a stored tool, its secret included.
func FromRecord(rec *store.ToolRecord) (Tool, error) {
	var t Tool
	if err := json.Unmarshal(rec.Spec, &t); err != nil {
		return Tool{}, fmt.Errorf("decode tool %d: %w", rec.ID, err)
	}
	t.ID, t.Name, t.Auth.Secret, t.CreatedAt, t.UpdatedAt = rec.ID, rec.Name, rec.Secret, rec.CreatedAt, rec.UpdatedAt
	return t, nil
}

// ToRecord is t as stored: the secret apart (sealed by the store), the
// rest as the declaration's JSON.
func ToRecord(t Tool) (*store.ToolRecord, error) {
	rec := &store.ToolRecord{ID: t.ID, Name: t.Name, Secret: t.Auth.Secret}
	t.ID, t.Auth.Secret = 0, ""
	t.CreatedAt, t.UpdatedAt = rec.CreatedAt, rec.UpdatedAt
	spec, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encode tool %q: %w", t.Name, err)
	}
	rec.Spec = spec
	return rec, nil
}
