package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Adapter kinds of a webhook config. A generic integration speaks our own
// JSON both ways (POST /api/webhook/incoming, the outgoing webhook); a
// native one takes the platform's own events (POST
// /api/platforms/{id}/events) and replies through the platform's own API.
const (
	AdapterGeneric = "generic"
	AdapterNative  = "native"
)

// Hand-off modes of a native integration: the platform's own (its agents
// take the conversation there) or our live-chat console.
const (
	HandoffNative  = "native"
	HandoffConsole = "console"
)

// PlatformSettings are a native integration's settings; the zero value
// is a generic integration. APIToken and Secret are sealed at rest.
type PlatformSettings struct {
	Adapter string // "" or AdapterGeneric, or AdapterNative
	APIURL  string // the platform's API base, e.g. https://app.chatwoot.com
	// APIToken is the credential of the reply API (Chatwoot's
	// api_access_token).
	APIToken string
	// Secret verifies the platform's signature of its events (an HMAC
	// secret or a PEM public key, by provider).
	Secret string
	// Account is the platform account the API paths name (Chatwoot's
	// account id).
	Account string
	// BotID is the bot's identity on the platform, to tell its own
	// messages from a human agent's.
	BotID string
	// Handoff is HandoffNative (default) or HandoffConsole; HandoffTarget
	// is the platform's team or group to hand over to, when it has one.
	Handoff       string
	HandoffTarget string
	// AcceptUnsigned takes events without a signature (platform versions
	// that do not sign); off by default, logged when used.
	AcceptUnsigned bool
}

// Native reports whether the integration is a native platform adapter.
func (c *WebhookConfig) Native() bool { return c.Adapter == AdapterNative }

// Delivers reports whether the integration's outgoing messages are queued
// for delivery: to its outgoing URL, or through a platform's API.
func (c *WebhookConfig) Delivers() bool { return c.OutgoingURL != "" || c.Native() }

// platformRecord is the on-disk form of PlatformSettings inside
// configRecord (every field omitted when empty: old records read as
// generic integrations, and generic ones are written as before).
type platformRecord struct {
	Adapter        string `json:"adapter,omitempty"`
	APIURL         string `json:"api_url,omitempty"`
	APIToken       []byte `json:"api_token,omitempty"`
	Secret         []byte `json:"platform_secret,omitempty"`
	Account        string `json:"account,omitempty"`
	BotID          string `json:"bot_id,omitempty"`
	Handoff        string `json:"handoff,omitempty"`
	HandoffTarget  string `json:"handoff_target,omitempty"`
	AcceptUnsigned bool   `json:"accept_unsigned,omitempty"`
}

func (s *Store) encodePlatform(id uint64, p PlatformSettings) (platformRecord, error) {
	rec := platformRecord{Adapter: p.Adapter, APIURL: p.APIURL, Account: p.Account, BotID: p.BotID,
		Handoff: p.Handoff, HandoffTarget: p.HandoffTarget, AcceptUnsigned: p.AcceptUnsigned}
	var err error
	if rec.APIToken, err = s.seal(p.APIToken, configAAD(id, "api_token")); err != nil {
		return rec, err
	}
	if rec.Secret, err = s.seal(p.Secret, configAAD(id, "platform_secret")); err != nil {
		return rec, err
	}
	return rec, nil
}

func (s *Store) decodePlatform(id uint64, rec platformRecord) (PlatformSettings, error) {
	p := PlatformSettings{Adapter: rec.Adapter, APIURL: rec.APIURL, Account: rec.Account, BotID: rec.BotID,
		Handoff: rec.Handoff, HandoffTarget: rec.HandoffTarget, AcceptUnsigned: rec.AcceptUnsigned}
	var err error
	if p.APIToken, err = s.unseal(rec.APIToken, configAAD(id, "api_token")); err != nil {
		return p, fmt.Errorf("webhook config %d api_token: %w", id, err)
	}
	if p.Secret, err = s.unseal(rec.Secret, configAAD(id, "platform_secret")); err != nil {
		return p, fmt.Errorf("webhook config %d platform_secret: %w", id, err)
	}
	return p, nil
}

// bucketPlatformPauses holds, per native conversation, whether a human on
// the platform owns it: config id(8) + conversation id -> JSON.
var bucketPlatformPauses = []byte("platform_pauses")

// Causes of a pause, and of its end.
const (
	PauseAgentReply    = "agent_reply"    // an agent (not our bot) wrote in the conversation
	PauseAssigned      = "assigned"       // the conversation was assigned to an agent
	PauseStatusOpen    = "status_open"    // the platform marks it human-owned (Chatwoot "open")
	PauseHandoff       = "handoff"        // the user asked for a human and we handed over
	PauseControlPassed = "control_passed" // the switchboard passed control to another integration (Sunshine)
	ResumeResolved     = "resolved"       // the platform resolved the conversation
	ResumeHandback     = "handed_back"    // a human gave it back to the bot (Chatwoot "pending")
	ResumeOperator     = "operator"       // an admin resumed it through our API
)

// ConversationPause is the bot's state in one conversation of a native
// integration: paused while a human owns it.
type ConversationPause struct {
	ConfigID       uint64    `json:"config_id"`
	ConversationID string    `json:"conversation_id"`
	Paused         bool      `json:"paused"`
	Cause          string    `json:"cause"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func pauseKey(configID uint64, conversationID string) []byte {
	return append(itob(configID), conversationID...)
}

// SetConversationPause records that the bot is paused (or resumed) in a
// conversation, and why. Resuming a conversation never paused records the
// resume too (the API then shows its cause).
func (s *Store) SetConversationPause(configID uint64, conversationID string, paused bool, cause string) (ConversationPause, error) {
	p := ConversationPause{ConfigID: configID, ConversationID: conversationID, Paused: paused, Cause: cause}
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketPlatformPauses)
		if err != nil {
			return err
		}
		p.UpdatedAt = s.now().UTC()
		data, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return b.Put(pauseKey(configID, conversationID), data)
	})
	if err != nil {
		return ConversationPause{}, fmt.Errorf("set pause of conversation %q of webhook config %d: %w", conversationID, configID, err)
	}
	return p, nil
}

// ConversationPauseState is the bot's state in a conversation; one with no
// record is not paused (Paused false, Cause "").
func (s *Store) ConversationPauseState(configID uint64, conversationID string) (ConversationPause, error) {
	p := ConversationPause{ConfigID: configID, ConversationID: conversationID}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPlatformPauses)
		if b == nil {
			return nil
		}
		v := b.Get(pauseKey(configID, conversationID))
		if v == nil {
			return nil
		}
		return json.Unmarshal(v, &p)
	})
	if err != nil {
		return ConversationPause{}, fmt.Errorf("read pause of conversation %q of webhook config %d: %w", conversationID, configID, err)
	}
	return p, nil
}

// ConversationPauses lists the recorded states of a config's
// conversations, paused ones first, then the most recent first.
func (s *Store) ConversationPauses(configID uint64) ([]ConversationPause, error) {
	out := []ConversationPause{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPlatformPauses)
		if b == nil {
			return nil
		}
		prefix := itob(configID)
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && len(k) >= 8 && btoi(k[:8]) == configID; k, v = c.Next() {
			var p ConversationPause
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode pause %q: %w", k[8:], err)
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pauses of webhook config %d: %w", configID, err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Paused != out[j].Paused {
			return out[i].Paused
		}
		return out[i].UpdatedAt.After(out[j].UpdatedAt)
	})
	return out, nil
}

// deletePausesTx forgets the conversation states and sent ids of a
// deleted config.
func deletePausesTx(tx *bolt.Tx, configID uint64) error {
	if err := deletePrefixTx(tx, bucketPlatformSent, configID); err != nil {
		return err
	}
	return deletePrefixTx(tx, bucketPlatformPauses, configID)
}

// deletePrefixTx deletes the keys of bucket that start with configID.
func deletePrefixTx(tx *bolt.Tx, bucket []byte, configID uint64) error {
	b := tx.Bucket(bucket)
	if b == nil {
		return nil
	}
	var keys [][]byte
	c := b.Cursor()
	prefix := itob(configID)
	for k, _ := c.Seek(prefix); k != nil && len(k) >= 8 && btoi(k[:8]) == configID; k, _ = c.Next() {
		keys = append(keys, clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// bucketPlatformSent remembers the platform's ids of the messages the bot
// posted through a native API: config id(8) + platform message id ->
// unix seconds(8). The platform echoes each as an outgoing message event;
// one found here is the bot's own, whoever the token belongs to.
var bucketPlatformSent = []byte("platform_sent")

// RecordPlatformSent remembers that the platform's message id of config
// is one the bot posted.
func (s *Store) RecordPlatformSent(configID uint64, platformMessageID string) error {
	err := s.batch(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketPlatformSent)
		if err != nil {
			return err
		}
		return b.Put(pauseKey(configID, platformMessageID), itob(uint64(s.now().Unix())))
	})
	if err != nil {
		return fmt.Errorf("record sent platform message %q of webhook config %d: %w", platformMessageID, configID, err)
	}
	return nil
}

// PlatformSent reports whether the bot posted the platform's message id.
func (s *Store) PlatformSent(configID uint64, platformMessageID string) (bool, error) {
	found := false
	err := s.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketPlatformSent); b != nil {
			found = b.Get(pauseKey(configID, platformMessageID)) != nil
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("read sent platform message %q of webhook config %d: %w", platformMessageID, configID, err)
	}
	return found, nil
}

// NativeHandoff reports whether config id is a native integration and its
// hand-off mode, reading only those fields (no secret is unsealed): the
// turn asks it for every message of every integration.
func (s *Store) NativeHandoff(id uint64) (native bool, handoff string, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketConfigs).Get(itob(id))
		if v == nil {
			return fmt.Errorf("webhook config %d: %w", id, ErrNotFound)
		}
		var rec struct {
			Adapter string `json:"adapter"`
			Handoff string `json:"handoff"`
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode webhook config %d: %w", id, err)
		}
		native, handoff = rec.Adapter == AdapterNative, rec.Handoff
		return nil
	})
	return native, handoff, err
}
