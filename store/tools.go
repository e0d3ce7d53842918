package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketTools       = []byte("tools")        // id -> toolRecord JSON
	bucketToolNames   = []byte("tool_names")   // lower-case name -> id
	bucketToolPending = []byte("tool_pending") // conversation key -> ToolPending JSON
)

// ToolRecord is one API tool as stored: its declaration is opaque JSON that
// package tools owns and validates; the auth secret is kept apart so that
// it is sealed at rest like an integration's outgoing token.
type ToolRecord struct {
	ID        uint64
	Name      string
	Spec      json.RawMessage // the declaration (package tools), without the secret
	Secret    string          // the auth secret in the clear (sealed on disk)
	CreatedAt time.Time
	UpdatedAt time.Time
}

// toolRecord is the on-disk form.
type toolRecord struct {
	ID        uint64          `json:"id"`
	Name      string          `json:"name"`
	Spec      json.RawMessage `json:"spec"`
	Secret    []byte          `json:"secret,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func toolAAD(id uint64) []byte { return []byte("tool/" + strconv.FormatUint(id, 10) + "/secret") }

func (s *Store) encodeTool(t *ToolRecord) ([]byte, error) {
	rec := toolRecord{ID: t.ID, Name: t.Name, Spec: t.Spec, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	var err error
	if rec.Secret, err = s.seal(t.Secret, toolAAD(t.ID)); err != nil {
		return nil, fmt.Errorf("seal tool %d secret: %w", t.ID, err)
	}
	return json.Marshal(rec)
}

func (s *Store) getToolTx(tx *bolt.Tx, id uint64) (*ToolRecord, error) {
	v := tx.Bucket(bucketTools).Get(itob(id))
	if v == nil {
		return nil, fmt.Errorf("tool %d: %w", id, ErrNotFound)
	}
	var rec toolRecord
	if err := json.Unmarshal(v, &rec); err != nil { // decodes into fresh values
		return nil, fmt.Errorf("decode tool %d: %w", id, err)
	}
	t := &ToolRecord{ID: rec.ID, Name: rec.Name, Spec: rec.Spec, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}
	var err error
	if t.Secret, err = s.unseal(rec.Secret, toolAAD(rec.ID)); err != nil {
		return nil, fmt.Errorf("tool %d secret: %w", rec.ID, err)
	}
	return t, nil
}

func (s *Store) putToolTx(tx *bolt.Tx, t *ToolRecord) error {
	data, err := s.encodeTool(t)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketTools).Put(itob(t.ID), data); err != nil {
		return err
	}
	return tx.Bucket(bucketToolNames).Put(nameKey(t.Name), itob(t.ID))
}

// CreateTool stores a new tool and sets its ID and timestamps. A name
// already taken (case-insensitively) is ErrConflict.
func (s *Store) CreateTool(t *ToolRecord) error {
	return s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketToolNames).Get(nameKey(t.Name)) != nil {
			return fmt.Errorf("tool name %q: %w", t.Name, ErrConflict)
		}
		id, err := tx.Bucket(bucketTools).NextSequence()
		if err != nil {
			return err
		}
		now := s.now().UTC()
		t.ID, t.CreatedAt, t.UpdatedAt = id, now, now
		return s.putToolTx(tx, t)
	})
}

// Tool returns the tool with this id.
func (s *Store) Tool(id uint64) (*ToolRecord, error) {
	var t *ToolRecord
	err := s.view(func(tx *bolt.Tx) (err error) {
		t, err = s.getToolTx(tx, id)
		return err
	})
	return t, err
}

// ToolByName finds a tool by its name (case-insensitively).
func (s *Store) ToolByName(name string) (*ToolRecord, error) {
	var t *ToolRecord
	err := s.view(func(tx *bolt.Tx) (err error) {
		v := tx.Bucket(bucketToolNames).Get(nameKey(name))
		if v == nil {
			return fmt.Errorf("tool %q: %w", name, ErrNotFound)
		}
		t, err = s.getToolTx(tx, btoi(v))
		return err
	})
	return t, err
}

// Tools lists every tool by id.
func (s *Store) Tools() ([]*ToolRecord, error) {
	out := []*ToolRecord{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTools).ForEach(func(k, _ []byte) error {
			t, err := s.getToolTx(tx, btoi(k))
			if err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// UpdateTool applies change to the stored tool in one transaction; a new
// name already taken is ErrConflict.
func (s *Store) UpdateTool(id uint64, change func(t *ToolRecord) error) (*ToolRecord, error) {
	var updated *ToolRecord
	err := s.update(func(tx *bolt.Tx) error {
		t, err := s.getToolTx(tx, id)
		if err != nil {
			return err
		}
		oldName := nameKey(t.Name)
		if err := change(t); err != nil {
			return err
		}
		t.ID = id
		names := tx.Bucket(bucketToolNames)
		if newName := nameKey(t.Name); string(newName) != string(oldName) {
			if names.Get(newName) != nil {
				return fmt.Errorf("tool name %q: %w", t.Name, ErrConflict)
			}
			if err := names.Delete(oldName); err != nil {
				return err
			}
		}
		t.UpdatedAt = s.now().UTC()
		updated = t
		return s.putToolTx(tx, t)
	})
	return updated, err
}

// DeleteTool removes a tool and its name. Half-filled calls of it in
// conversations are dropped when they are next read (the tool is gone).
func (s *Store) DeleteTool(id uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		t, err := s.getToolTx(tx, id)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketToolNames).Delete(nameKey(t.Name)); err != nil {
			return err
		}
		return tx.Bucket(bucketTools).Delete(itob(id))
	})
}

// ToolPending is a tool call waiting, in one conversation, for a required
// parameter the bot asked the user for.
type ToolPending struct {
	ToolID    uint64            `json:"tool_id"`
	Tool      string            `json:"tool"`
	Params    map[string]string `json:"params"`
	Missing   string            `json:"missing"` // the parameter asked for
	ExpiresAt time.Time         `json:"expires_at"`
}

// SetToolPending remembers p as the conversation's half-filled call,
// replacing any earlier one.
func (s *Store) SetToolPending(ref ConvRef, p ToolPending) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode pending tool call: %w", err)
	}
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketToolPending).Put(ref.key(), data)
	})
}

// ToolPendingFor returns the conversation's half-filled call, expired or
// not (the caller decides); ErrNotFound when there is none.
func (s *Store) ToolPendingFor(ref ConvRef) (ToolPending, error) {
	var p ToolPending
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketToolPending).Get(ref.key())
		if v == nil {
			return fmt.Errorf("pending tool call of %s: %w", ref, ErrNotFound)
		}
		return json.Unmarshal(v, &p)
	})
	return p, err
}

// DeleteToolPending forgets the conversation's half-filled call, if any.
func (s *Store) DeleteToolPending(ref ConvRef) error {
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketToolPending).Delete(ref.key())
	})
}
