package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketWidgets    = []byte("widgets")     // id -> Widget JSON
	bucketWidgetKeys = []byte("widget_keys") // public widget key -> id
)

// WidgetPlatform is the platform name of website widget conversations.
const WidgetPlatform = "widget"

// Widget is one website that embeds the chat widget. Its key is public (it
// sits in the site's script tag); what limits its use is the list of
// origins allowed to call the chat API with it and its rate limit.
type Widget struct {
	ID             uint64    `json:"id"`
	Name           string    `json:"name"`
	Key            string    `json:"key"`
	AllowedOrigins []string  `json:"allowed_origins"`
	RatePerMinute  int       `json:"rate_per_minute"`
	IsActive       bool      `json:"is_active"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func getWidgetTx(tx *bolt.Tx, id uint64) (*Widget, error) {
	v := tx.Bucket(bucketWidgets).Get(itob(id))
	if v == nil {
		return nil, fmt.Errorf("widget %d: %w", id, ErrNotFound)
	}
	var w Widget
	if err := json.Unmarshal(v, &w); err != nil { // decodes into fresh values
		return nil, fmt.Errorf("decode widget %d: %w", id, err)
	}
	return &w, nil
}

func putWidgetTx(tx *bolt.Tx, w *Widget) error {
	data, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encode widget %d: %w", w.ID, err)
	}
	if err := tx.Bucket(bucketWidgets).Put(itob(w.ID), data); err != nil {
		return err
	}
	return tx.Bucket(bucketWidgetKeys).Put([]byte(w.Key), itob(w.ID))
}

// CreateWidget stores a new widget and sets its ID and timestamps. A key
// already in use is ErrConflict.
func (s *Store) CreateWidget(w *Widget) error {
	return s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketWidgetKeys).Get([]byte(w.Key)) != nil {
			return fmt.Errorf("widget key: %w", ErrConflict)
		}
		id, err := tx.Bucket(bucketWidgets).NextSequence()
		if err != nil {
			return err
		}
		now := s.now().UTC()
		w.ID, w.CreatedAt, w.UpdatedAt = id, now, now
		return putWidgetTx(tx, w)
	})
}

// Widget returns the widget with this id.
func (s *Store) Widget(id uint64) (*Widget, error) {
	var w *Widget
	err := s.view(func(tx *bolt.Tx) (err error) {
		w, err = getWidgetTx(tx, id)
		return err
	})
	return w, err
}

// WidgetByKey finds a widget by its public key.
func (s *Store) WidgetByKey(key string) (*Widget, error) {
	var w *Widget
	err := s.view(func(tx *bolt.Tx) (err error) {
		v := tx.Bucket(bucketWidgetKeys).Get([]byte(key))
		if v == nil {
			return fmt.Errorf("widget by key: %w", ErrNotFound)
		}
		w, err = getWidgetTx(tx, btoi(v))
		return err
	})
	return w, err
}

// Widgets lists every widget by id.
func (s *Store) Widgets() ([]*Widget, error) {
	out := []*Widget{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketWidgets).ForEach(func(k, _ []byte) error {
			w, err := getWidgetTx(tx, btoi(k))
			if err != nil {
				return err
			}
			out = append(out, w)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// UpdateWidget applies change to the stored widget in one transaction. The
// key may change (rotation): the old key stops working at once.
func (s *Store) UpdateWidget(id uint64, change func(w *Widget) error) (*Widget, error) {
	var updated *Widget
	err := s.update(func(tx *bolt.Tx) error {
		w, err := getWidgetTx(tx, id)
		if err != nil {
			return err
		}
		oldKey := w.Key
		if err := change(w); err != nil {
			return err
		}
		w.ID = id
		keys := tx.Bucket(bucketWidgetKeys)
		if w.Key != oldKey {
			if keys.Get([]byte(w.Key)) != nil {
				return fmt.Errorf("widget key: %w", ErrConflict)
			}
			if err := keys.Delete([]byte(oldKey)); err != nil {
				return err
			}
		}
		w.UpdatedAt = s.now().UTC()
		updated = w
		return putWidgetTx(tx, w)
	})
	return updated, err
}

// DeleteWidget removes a widget and its key.
func (s *Store) DeleteWidget(id uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		w, err := getWidgetTx(tx, id)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketWidgetKeys).Delete([]byte(w.Key)); err != nil {
			return err
		}
		return tx.Bucket(bucketWidgets).Delete(itob(id))
	})
}
