package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketConfigs      = []byte("webhook_configs")       // id -> JSON record
	bucketConfigNames  = []byte("webhook_config_names")  // lower-case name -> id
	bucketConfigTokens = []byte("webhook_config_tokens") // incoming token hash -> id
)

// WebhookConfig is one platform integration. AuthToken, SigningSecret and
// CustomHeaders are encrypted at rest; the incoming token is kept only as
// its hash.
type WebhookConfig struct {
	ID                 uint64
	Name               string
	Provider           string
	OutgoingURL        string
	AuthToken          string
	CustomHeaders      map[string]string
	TimeoutSeconds     int
	RetryAttempts      int
	IsActive           bool
	ResponseMode       ResponseMode
	IncomingTokenHash  string
	IncomingTokenLast4 string
	SigningSecret      string
	// IncomingSecret, when set, makes the incoming endpoint require a
	// Standard Webhooks signature of the raw body (whsec_<base64>).
	IncomingSecret string
	// AllowedIPs, when not empty, limits the incoming endpoint to these
	// addresses or CIDRs.
	AllowedIPs []string
	// PlatformSettings are a native adapter's (store/platform.go).
	PlatformSettings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// configRecord is the on-disk form: secrets sealed, everything else plain.
type configRecord struct {
	ID                 uint64       `json:"id"`
	Name               string       `json:"name"`
	Provider           string       `json:"provider"`
	OutgoingURL        string       `json:"outgoing_url"`
	AuthToken          []byte       `json:"auth_token,omitempty"`
	CustomHeaders      []byte       `json:"custom_headers,omitempty"`
	TimeoutSeconds     int          `json:"timeout_seconds"`
	RetryAttempts      int          `json:"retry_attempts"`
	IsActive           bool         `json:"is_active"`
	ResponseMode       ResponseMode `json:"response_mode"`
	IncomingTokenHash  string       `json:"incoming_token_hash"`
	IncomingTokenLast4 string       `json:"incoming_token_last4"`
	SigningSecret      []byte       `json:"signing_secret,omitempty"`
	IncomingSecret     []byte       `json:"incoming_secret,omitempty"`
	AllowedIPs         []string     `json:"allowed_ips,omitempty"`
	platformRecord
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func configAAD(id uint64, field string) []byte {
	return []byte("webhook_config/" + strconv.FormatUint(id, 10) + "/" + field)
}

func (s *Store) seal(plain string, aad []byte) ([]byte, error) {
	if plain == "" {
		return nil, nil
	}
	if s.sealer == nil {
		return []byte(plain), nil
	}
	return s.sealer.Seal([]byte(plain), aad)
}

func (s *Store) unseal(ct []byte, aad []byte) (string, error) {
	if len(ct) == 0 {
		return "", nil
	}
	if s.sealer == nil {
		return string(ct), nil
	}
	p, err := s.sealer.Open(ct, aad)
	return string(p), err
}

func (s *Store) encodeConfig(c *WebhookConfig) ([]byte, error) {
	rec := configRecord{
		ID: c.ID, Name: c.Name, Provider: c.Provider, OutgoingURL: c.OutgoingURL,
		TimeoutSeconds: c.TimeoutSeconds, RetryAttempts: c.RetryAttempts, IsActive: c.IsActive,
		ResponseMode: c.ResponseMode, IncomingTokenHash: c.IncomingTokenHash,
		IncomingTokenLast4: c.IncomingTokenLast4, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		AllowedIPs: c.AllowedIPs,
	}
	var err error
	if rec.platformRecord, err = s.encodePlatform(c.ID, c.PlatformSettings); err != nil {
		return nil, err
	}
	if rec.AuthToken, err = s.seal(c.AuthToken, configAAD(c.ID, "auth_token")); err != nil {
		return nil, err
	}
	if rec.IncomingSecret, err = s.seal(c.IncomingSecret, configAAD(c.ID, "incoming_secret")); err != nil {
		return nil, err
	}
	if rec.SigningSecret, err = s.seal(c.SigningSecret, configAAD(c.ID, "signing_secret")); err != nil {
		return nil, err
	}
	if len(c.CustomHeaders) > 0 {
		h, err := json.Marshal(c.CustomHeaders)
		if err != nil {
			return nil, err
		}
		if rec.CustomHeaders, err = s.seal(string(h), configAAD(c.ID, "custom_headers")); err != nil {
			return nil, err
		}
	}
	return json.Marshal(rec)
}

func (s *Store) decodeConfig(data []byte) (*WebhookConfig, error) {
	var rec configRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("decode webhook config: %w", err)
	}
	c := &WebhookConfig{
		ID: rec.ID, Name: rec.Name, Provider: rec.Provider, OutgoingURL: rec.OutgoingURL,
		TimeoutSeconds: rec.TimeoutSeconds, RetryAttempts: rec.RetryAttempts, IsActive: rec.IsActive,
		ResponseMode: rec.ResponseMode, IncomingTokenHash: rec.IncomingTokenHash,
		IncomingTokenLast4: rec.IncomingTokenLast4, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt,
		AllowedIPs: rec.AllowedIPs,
	}
	var err error
	if c.PlatformSettings, err = s.decodePlatform(rec.ID, rec.platformRecord); err != nil {
		return nil, err
	}
	if c.IncomingSecret, err = s.unseal(rec.IncomingSecret, configAAD(rec.ID, "incoming_secret")); err != nil {
		return nil, fmt.Errorf("webhook config %d incoming_secret: %w", rec.ID, err)
	}
	if c.AuthToken, err = s.unseal(rec.AuthToken, configAAD(rec.ID, "auth_token")); err != nil {
		return nil, fmt.Errorf("webhook config %d auth_token: %w", rec.ID, err)
	}
	if c.SigningSecret, err = s.unseal(rec.SigningSecret, configAAD(rec.ID, "signing_secret")); err != nil {
		return nil, fmt.Errorf("webhook config %d signing_secret: %w", rec.ID, err)
	}
	if len(rec.CustomHeaders) > 0 {
		h, err := s.unseal(rec.CustomHeaders, configAAD(rec.ID, "custom_headers"))
		if err != nil {
			return nil, fmt.Errorf("webhook config %d custom_headers: %w", rec.ID, err)
		}
		if err := json.Unmarshal([]byte(h), &c.CustomHeaders); err != nil {
			return nil, fmt.Errorf("webhook config %d custom_headers: %w", rec.ID, err)
		}
	}
	return c, nil
}

func nameKey(name string) []byte { return []byte(strings.ToLower(strings.TrimSpace(name))) }

// CreateConfig stores a new config and sets its ID and timestamps. A name
// already taken (case-insensitively) is ErrConflict.
func (s *Store) CreateConfig(c *WebhookConfig) error {
	return s.update(func(tx *bolt.Tx) error {
		names := tx.Bucket(bucketConfigNames)
		if names.Get(nameKey(c.Name)) != nil {
			return fmt.Errorf("webhook config name %q: %w", c.Name, ErrConflict)
		}
		b := tx.Bucket(bucketConfigs)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		now := s.now().UTC()
		c.ID, c.CreatedAt, c.UpdatedAt = id, now, now
		return s.putConfig(tx, c)
	})
}

func (s *Store) putConfig(tx *bolt.Tx, c *WebhookConfig) error {
	data, err := s.encodeConfig(c)
	if err != nil {
		return fmt.Errorf("encode webhook config %d: %w", c.ID, err)
	}
	if err := tx.Bucket(bucketConfigs).Put(itob(c.ID), data); err != nil {
		return err
	}
	if err := tx.Bucket(bucketConfigNames).Put(nameKey(c.Name), itob(c.ID)); err != nil {
		return err
	}
	if c.IncomingTokenHash != "" {
		return tx.Bucket(bucketConfigTokens).Put([]byte(c.IncomingTokenHash), itob(c.ID))
	}
	return nil
}

func (s *Store) getConfig(tx *bolt.Tx, id uint64) (*WebhookConfig, error) {
	v := tx.Bucket(bucketConfigs).Get(itob(id))
	if v == nil {
		return nil, fmt.Errorf("webhook config %d: %w", id, ErrNotFound)
	}
	return s.decodeConfig(v) // decodes from the tx's bytes into fresh values
}

// Config returns the config with this id.
func (s *Store) Config(id uint64) (*WebhookConfig, error) {
	var c *WebhookConfig
	err := s.view(func(tx *bolt.Tx) (err error) {
		c, err = s.getConfig(tx, id)
		return err
	})
	return c, err
}

// ConfigByName finds a config by its name, case-insensitively.
func (s *Store) ConfigByName(name string) (*WebhookConfig, error) {
	var c *WebhookConfig
	err := s.view(func(tx *bolt.Tx) (err error) {
		v := tx.Bucket(bucketConfigNames).Get(nameKey(name))
		if v == nil {
			return fmt.Errorf("webhook config named %q: %w", name, ErrNotFound)
		}
		c, err = s.getConfig(tx, btoi(v))
		return err
	})
	return c, err
}

// ConfigByTokenHash finds the config whose incoming token has this hash.
func (s *Store) ConfigByTokenHash(hash string) (*WebhookConfig, error) {
	var c *WebhookConfig
	err := s.view(func(tx *bolt.Tx) (err error) {
		v := tx.Bucket(bucketConfigTokens).Get([]byte(hash))
		if v == nil {
			return fmt.Errorf("webhook config by token: %w", ErrNotFound)
		}
		c, err = s.getConfig(tx, btoi(v))
		return err
	})
	return c, err
}

// Configs lists every config by id.
func (s *Store) Configs() ([]*WebhookConfig, error) {
	var out []*WebhookConfig
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketConfigs).ForEach(func(_, v []byte) error {
			c, err := s.decodeConfig(v)
			if err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// UpdateConfig applies change to the stored config inside one transaction
// and keeps the name and token indexes in step. A rename onto a taken name
// is ErrConflict.
func (s *Store) UpdateConfig(id uint64, change func(c *WebhookConfig) error) (*WebhookConfig, error) {
	var updated *WebhookConfig
	err := s.update(func(tx *bolt.Tx) error {
		c, err := s.getConfig(tx, id)
		if err != nil {
			return err
		}
		oldName, oldToken := c.Name, c.IncomingTokenHash
		if err := change(c); err != nil {
			return err
		}
		c.ID = id
		names := tx.Bucket(bucketConfigNames)
		if string(nameKey(c.Name)) != string(nameKey(oldName)) {
			if names.Get(nameKey(c.Name)) != nil {
				return fmt.Errorf("webhook config name %q: %w", c.Name, ErrConflict)
			}
			if err := names.Delete(nameKey(oldName)); err != nil {
				return err
			}
		}
		if c.IncomingTokenHash != oldToken && oldToken != "" {
			if err := tx.Bucket(bucketConfigTokens).Delete([]byte(oldToken)); err != nil {
				return err
			}
		}
		c.UpdatedAt = s.now().UTC()
		updated = c
		return s.putConfig(tx, c)
	})
	return updated, err
}

// DeleteConfig removes a config and its index entries. Its queued
// deliveries fail in the same transaction ("integration deleted"): nothing
// is left to deliver them to, and leaving them pending hid that until the
// next start.
func (s *Store) DeleteConfig(id uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		c, err := s.getConfig(tx, id)
		if err != nil {
			return err
		}
		if err := failConfigDeliveriesTx(tx, id, s.now().UTC(), ErrConfigDeleted.Error()); err != nil {
			return err
		}
		if err := tx.Bucket(bucketConfigNames).Delete(nameKey(c.Name)); err != nil {
			return err
		}
		if err := deletePausesTx(tx, id); err != nil {
			return err
		}
		if c.IncomingTokenHash != "" {
			if err := tx.Bucket(bucketConfigTokens).Delete([]byte(c.IncomingTokenHash)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketConfigs).Delete(itob(id))
	})
}
