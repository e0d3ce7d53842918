package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Schema history:
//
//	1: dedupe entries, conversation memories and open live-chat sessions
//	   keyed by the provider name (the message's "platform") and an id.
//	2: the same keyed by the integration (ConvRef.scopeKey: the config id,
//	   or the widget id for widget conversations); widget messages and
//	   sessions carry their widget id; bucketConvMessages lists each
//	   conversation's messages.
//
// Schema 1 let two integrations of one provider reach each other's data: a
// message id one Zendesk brand sent was a duplicate of the other's (answered
// with its text and user), and a conversation id opened a live chat that the
// other brand's user was then routed into.

// keyMigrated records what the last migration did, for an operator to read.
var keyMigrated = []byte("migrated_to_schema_2")

// legacyWidgetPlatform is the platform schema 1 gave widget conversations
// (admin.WidgetPlatform), which recorded no widget id.
const legacyWidgetPlatform = "widget"

// Migration2 is what migrating a schema-1 database did; it is stored in the
// meta bucket under keyMigrated.
type Migration2 struct {
	At time.Time `json:"at"`
	// Re-keyed dedupe entries; dropped ones had lost their message, or met
	// a newer entry on the same key.
	Dedupe        int `json:"dedupe"`
	DedupeDropped int `json:"dedupe_dropped"`
	// Memories moved to one integration, and those left under the
	// provider-only fallback key (see scopes).
	Conversations         int `json:"conversations"`
	ConversationsFallback int `json:"conversations_fallback"`
	// Sessions re-keyed to their integration, and those on the fallback.
	LiveChats         int `json:"live_chats"`
	LiveChatsFallback int `json:"live_chats_fallback"`
	// Widget messages and sessions given the id of the only widget.
	WidgetRecords int `json:"widget_records"`
}

// migrateTx runs at every read-write Open inside its transaction: it
// creates the buckets schema 2 added and upgrades older data, all or
// nothing. On a current database it changes nothing.
func migrateTx(tx *bolt.Tx, now time.Time) error {
	if _, err := tx.CreateBucketIfNotExists(bucketConvMessages); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketConvMessages, err)
	}
	if _, err := dropUnindexedCombosTx(tx); err != nil {
		return fmt.Errorf("drop message index entries no longer used: %w", err)
	}
	meta := tx.Bucket(bucketMeta)
	if v := btoi(meta.Get(keySchema)); v >= 2 {
		return nil
	}
	res, err := migrate1to2(tx)
	if err != nil {
		return fmt.Errorf("migrate schema 1 to 2: %w", err)
	}
	res.At = now.UTC()
	note, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if err := meta.Put(keyMigrated, note); err != nil {
		return err
	}
	return meta.Put(keySchema, itob(2))
}

// scopes decides the integration of schema-1 records that have none.
//
// Fallback: a record whose integration cannot be told (a memory of a
// conversation id that came through two integrations of its provider, or
// through none while the provider has several; a session or message
// without a config id of a non-widget platform) keeps its provider name in
// the key (ConvRef with no ConfigID or WidgetID). No integration's traffic
// carries such a key any more, so these records stay readable in the admin
// panel but are never handed to either integration: mixing two people's
// history is worse than forgetting it.
type scopes struct {
	byProvider map[string][]uint64 // provider -> config ids
	widgets    []uint64
}

func loadScopes(tx *bolt.Tx) (scopes, error) {
	sc := scopes{byProvider: map[string][]uint64{}}
	err := tx.Bucket(bucketConfigs).ForEach(func(k, v []byte) error {
		var rec configRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode webhook config %d: %w", btoi(k), err)
		}
		sc.byProvider[rec.Provider] = append(sc.byProvider[rec.Provider], rec.ID)
		return nil
	})
	if err != nil {
		return sc, err
	}
	err = tx.Bucket(bucketWidgets).ForEach(func(k, _ []byte) error {
		sc.widgets = append(sc.widgets, btoi(k))
		return nil
	})
	return sc, err
}

// widgetOf is the widget id of a schema-1 widget record: the only widget's,
// or 0 (fallback) when there are several or none.
func (sc scopes) widgetOf(configID uint64, platform string) uint64 {
	if configID == 0 && platform == legacyWidgetPlatform && len(sc.widgets) == 1 {
		return sc.widgets[0]
	}
	return 0
}

// providerOnly is the scope of a provider-keyed record with no message to
// tell its integration: the provider's only config (or the only widget),
// else the fallback.
func (sc scopes) providerOnly(platform, conv string) ConvRef {
	ref := ConvRef{Platform: platform, ConversationID: conv}
	if ids := sc.byProvider[platform]; len(ids) == 1 {
		ref.ConfigID = ids[0]
	} else if len(ids) == 0 {
		ref.WidgetID = sc.widgetOf(0, platform)
	}
	return ref
}

func legacyConvKey(platform, conv string) string { return platform + "\x00" + conv }

// replaceBucketTx swaps the contents of bucket name for entries, written
// in key order. Every migrated bucket is rewritten whole, and bbolt keeps a
// transaction's changes to a leaf in one growing node until commit:
// deleting keys one by one, or inserting them out of order, moves the rest
// of that node each time (quadratic in the bucket's size), while dropping
// the bucket and appending sorted keys is linear.
func replaceBucketTx(tx *bolt.Tx, name []byte, entries map[string][]byte) error {
	if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
		return fmt.Errorf("drop bucket %s: %w", name, err)
	}
	b, err := tx.CreateBucket(name)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	keys := slices.Sorted(maps.Keys(entries))
	for _, k := range keys {
		if err := b.Put([]byte(k), entries[k]); err != nil {
			return fmt.Errorf("put into bucket %s: %w", name, err)
		}
	}
	return nil
}

func migrate1to2(tx *bolt.Tx) (Migration2, error) {
	var res Migration2
	sc, err := loadScopes(tx)
	if err != nil {
		return res, err
	}
	convScopes, err := migrateMessages(tx, sc, &res)
	if err != nil {
		return res, err
	}
	if err := migrateDedupe(tx, &res); err != nil {
		return res, err
	}
	if err := migrateConversations(tx, sc, convScopes, &res); err != nil {
		return res, err
	}
	return res, migrateLiveChats(tx, sc, &res)
}

// migrateMessages gives widget messages their widget id, lists every
// message under its conversation, and returns, per schema-1 conversation
// (provider, id), the integrations its incoming messages came through.
func migrateMessages(tx *bolt.Tx, sc scopes, res *Migration2) (map[string]map[string]ConvRef, error) {
	b := tx.Bucket(bucketMessages)
	convScopes := map[string]map[string]ConvRef{}
	index := map[string][]byte{} // bucketConvMessages
	var rewrite []*Message
	err := b.ForEach(func(k, v []byte) error {
		var m Message
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("decode message %d: %w", btoi(k), err)
		}
		if w := sc.widgetOf(m.ConfigID, m.Platform); w != 0 && m.WidgetID == 0 {
			m.WidgetID = w
			rewrite = append(rewrite, &m)
		}
		if m.Type == MessageIncoming && m.ConversationID != "" {
			lk := legacyConvKey(m.Platform, m.ConversationID)
			if convScopes[lk] == nil {
				convScopes[lk] = map[string]ConvRef{}
			}
			ref := m.Ref()
			convScopes[lk][string(ref.scopeKey())] = ref
		}
		if m.ConversationID != "" {
			index[string(append(m.Ref().key(), itob(m.ID)...))] = []byte{}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := replaceBucketTx(tx, bucketConvMessages, index); err != nil {
		return nil, err
	}
	for _, m := range rewrite {
		data, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode message %d: %w", m.ID, err)
		}
		if err := b.Put(itob(m.ID), data); err != nil {
			return nil, err
		}
	}
	res.WidgetRecords += len(rewrite)
	return convScopes, nil
}

// migrateDedupe re-keys each dedupe entry by its message's integration.
// Two entries that land on one key (a config whose provider was changed)
// keep the newer.
func migrateDedupe(tx *bolt.Tx, res *Migration2) error {
	d := tx.Bucket(bucketDedupe)
	type entry struct{ newKey, val []byte }
	var entries []entry
	err := d.ForEach(func(k, v []byte) error {
		e := entry{val: clone(v)}
		if len(v) == 16 {
			m, err := getMessageTx(tx, btoi(v[:8]))
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if err == nil && m.PlatformMessageID != "" {
				e.newKey = dedupeKey(m.Ref(), m.PlatformMessageID)
			}
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return err
	}
	kept := map[string][]byte{} // new key -> value
	for _, e := range entries {
		if e.newKey == nil {
			res.DedupeDropped++
			continue
		}
		if cur, ok := kept[string(e.newKey)]; ok && bytes.Compare(cur[8:], e.val[8:]) >= 0 {
			res.DedupeDropped++
			continue
		}
		kept[string(e.newKey)] = e.val
	}
	res.Dedupe = len(kept)
	// The time index is rebuilt from the kept entries, so none is left
	// pointing at a schema-1 key.
	byTime := make(map[string][]byte, len(kept))
	for k, v := range kept {
		byTime[string(v[8:])+string(v[:8])] = []byte(k)
	}
	if err := replaceBucketTx(tx, bucketDedupe, kept); err != nil {
		return err
	}
	return replaceBucketTx(tx, bucketDedupeByTime, byTime)
}

// migrateConversations re-keys each memory by the integration its
// conversation's incoming messages came through; see scopes for the
// fallback when that is not one integration.
func migrateConversations(tx *bolt.Tx, sc scopes, convScopes map[string]map[string]ConvRef, res *Migration2) error {
	b := tx.Bucket(bucketConversations)
	var entries []Conversation
	err := b.ForEach(func(k, v []byte) error {
		var c Conversation
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode conversation %q: %w", k, err)
		}
		entries = append(entries, c)
		return nil
	})
	if err != nil {
		return err
	}
	kept := map[string]Conversation{}
	for _, c := range entries {
		ref := ConvRef{Platform: c.Platform, ConversationID: c.ConversationID}
		switch seen := convScopes[legacyConvKey(c.Platform, c.ConversationID)]; len(seen) {
		case 0:
			ref = sc.providerOnly(c.Platform, c.ConversationID)
		case 1:
			for _, r := range seen {
				ref.ConfigID, ref.WidgetID = r.ConfigID, r.WidgetID
			}
		}
		if ref.ConfigID == 0 && ref.WidgetID == 0 {
			res.ConversationsFallback++
		} else {
			res.Conversations++
		}
		c.ConfigID, c.WidgetID = ref.ConfigID, ref.WidgetID
		key := string(ref.key())
		if cur, ok := kept[key]; ok && cur.UpdatedAt.After(c.UpdatedAt) {
			continue
		}
		kept[key] = c
	}
	out := make(map[string][]byte, len(kept))
	for k, c := range kept {
		data, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encode conversation %q: %w", c.ConversationID, err)
		}
		out[k] = data
	}
	return replaceBucketTx(tx, bucketConversations, out)
}

// migrateLiveChats gives widget sessions their widget id and re-keys the
// open-session index by integration. Of two open sessions that land on one
// key the newer stays indexed; the older can still be closed by its id.
func migrateLiveChats(tx *bolt.Tx, sc scopes, res *Migration2) error {
	var sessions []*LiveChatSession
	err := tx.Bucket(bucketLiveChats).ForEach(func(k, v []byte) error {
		var l LiveChatSession
		if err := json.Unmarshal(v, &l); err != nil {
			return fmt.Errorf("decode live chat session %q: %w", k, err)
		}
		sessions = append(sessions, &l)
		return nil
	})
	if err != nil {
		return err
	}
	newest := map[string]*LiveChatSession{}
	for _, l := range sessions {
		if w := sc.widgetOf(l.ConfigID, l.Platform); w != 0 && l.WidgetID == 0 {
			l.WidgetID = w
			res.WidgetRecords++
		}
		if l.ConfigID == 0 && l.WidgetID == 0 {
			res.LiveChatsFallback++
		} else {
			res.LiveChats++
		}
		data, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("encode live chat session %q: %w", l.ID, err)
		}
		if err := tx.Bucket(bucketLiveChats).Put([]byte(l.ID), data); err != nil {
			return err
		}
		if !l.Open() {
			continue
		}
		key := string(l.Ref().key())
		if cur := newest[key]; cur == nil || l.CreatedAt.After(cur.CreatedAt) {
			newest[key] = l
		}
	}
	open := make(map[string][]byte, len(newest))
	for k, l := range newest {
		open[k] = []byte(l.ID)
	}
	return replaceBucketTx(tx, bucketLiveChatOpen, open)
}
