package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Knowledge sources: where documents come from (a folder below a knowledge
// root, a website, a set of uploads), with their sync settings and state.
// The buckets are created on first write, so a database written before
// sources existed opens unchanged (no schema bump) and reads as "no
// sources".
var (
	bucketSources     = []byte("kb_sources")      // source id -> JSON Source
	bucketSourcePages = []byte("kb_source_pages") // source id + URL -> JSON PageState
)

// Source kinds.
const (
	SourceFolder  = "folder"
	SourceWebsite = "website"
	SourceUpload  = "upload"
)

// Source is one knowledge source.
type Source struct {
	ID   uint64 `json:"id"`
	Kind string `json:"kind"` // folder | website | upload
	Name string `json:"name"`
	// Location is the folder (absolute) or the website's start or sitemap URL.
	Location string `json:"location"`
	// Every is the re-sync interval; zero syncs only when asked.
	Every    Duration `json:"every"`
	Hosts    []string `json:"hosts,omitempty"`   // hosts besides the start URL's that may be crawled
	Include  []string `json:"include,omitempty"` // URL patterns; empty means all
	Exclude  []string `json:"exclude,omitempty"`
	MaxPages int      `json:"max_pages,omitempty"`
	MaxDepth int      `json:"max_depth,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	LastSync  time.Time `json:"last_sync,omitzero"` // last finished sync, good or failed
	LastGood  time.Time `json:"last_good,omitzero"` // last sync without error
	NextSync  time.Time `json:"next_sync,omitzero"`
	Syncing   bool      `json:"syncing,omitempty"` // a sync started and has not finished (a crash leaves it set: redo it)
	Documents int       `json:"documents"`
	Chunks    int       `json:"chunks"`
	Fetched   int       `json:"fetched"` // pages or files read in the last sync
	Unchanged int       `json:"unchanged"`
	Removed   int       `json:"removed"`
	LastError string    `json:"last_error,omitempty"`
}

// Duration is a time.Duration that reads and writes as "6h0m0s" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as Go's duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string ("6h", "90m").
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"6h\": %w", err)
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// PageState is what a website sync remembers of one URL between syncs:
// the validators for a conditional request and how many syncs in a row it
// was missing.
type PageState struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Missing      int    `json:"missing,omitempty"` // syncs in a row it was gone (404/410, or not listed)
	DocPath      string `json:"doc_path,omitempty"`
	// Links are the page's links, followed again when it is not modified.
	Links []string `json:"links,omitempty"`
}

// CreateSource stores a new source and returns it with its id.
func (s *Store) CreateSource(src Source) (Source, error) {
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketSources)
		if err != nil {
			return err
		}
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		src.ID, src.CreatedAt = id, s.now().UTC()
		return putJSON(b, itob(id), src)
	})
	if err != nil {
		return Source{}, fmt.Errorf("create source: %w", err)
	}
	return src, nil
}

// UpdateSource changes a stored source with fn (read, changed and written
// in one transaction, so a sync's progress and an edit do not overwrite
// each other).
func (s *Store) UpdateSource(id uint64, fn func(*Source) error) (Source, error) {
	var src Source
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSources)
		if b == nil || b.Get(itob(id)) == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(b.Get(itob(id)), &src); err != nil {
			return err
		}
		if err := fn(&src); err != nil {
			return err
		}
		src.ID = id
		return putJSON(b, itob(id), src)
	})
	if err != nil {
		return Source{}, fmt.Errorf("update source %d: %w", id, err)
	}
	return src, nil
}

// Source returns one source.
func (s *Store) Source(id uint64) (Source, error) {
	var src Source
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSources)
		if b == nil || b.Get(itob(id)) == nil {
			return ErrNotFound
		}
		return json.Unmarshal(b.Get(itob(id)), &src)
	})
	if err != nil {
		return Source{}, fmt.Errorf("source %d: %w", id, err)
	}
	return src, nil
}

// Sources lists every source by id.
func (s *Store) Sources() ([]Source, error) {
	var out []Source
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSources)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var src Source
			if err := json.Unmarshal(v, &src); err != nil {
				return err
			}
			out = append(out, src)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// DeleteSource removes a source, its page states and every document that
// came from it, in one transaction. It returns the ids of the documents
// removed, for the in-memory index to drop.
func (s *Store) DeleteSource(id uint64) ([]uint64, error) {
	var removed []uint64
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSources)
		if b == nil || b.Get(itob(id)) == nil {
			return ErrNotFound
		}
		docs := tx.Bucket(bucketDocs)
		var gone []Document
		err := docs.ForEach(func(_, v []byte) error {
			var d Document
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			if d.SourceID == id {
				gone = append(gone, d)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, d := range gone {
			if err := deleteDocument(tx, d); err != nil {
				return err
			}
			removed = append(removed, d.ID)
		}
		if pb := tx.Bucket(bucketSourcePages); pb != nil {
			if err := deletePrefix(pb, itob(id)); err != nil {
				return err
			}
		}
		return b.Delete(itob(id))
	})
	if err != nil {
		return nil, fmt.Errorf("delete source %d: %w", id, err)
	}
	return removed, nil
}

// SourceDocuments lists the documents of one source, by path.
func (s *Store) SourceDocuments(id uint64) ([]Document, error) {
	all, err := s.Documents()
	if err != nil {
		return nil, err
	}
	var out []Document
	for _, d := range all {
		if d.SourceID == id {
			out = append(out, d)
		}
	}
	return out, nil
}

func pageKey(source uint64, url string) []byte {
	k := make([]byte, 8, 8+len(url))
	binary.BigEndian.PutUint64(k, source)
	return append(k, url...)
}

// PageStates returns what the last syncs of a source remember, by URL.
func (s *Store) PageStates(source uint64) (map[string]PageState, error) {
	out := map[string]PageState{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSourcePages)
		if b == nil {
			return nil
		}
		prefix := itob(source)
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var p PageState
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("page state %q: %w", k[8:], err)
			}
			out[p.URL] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("page states of source %d: %w", source, err)
	}
	return out, nil
}

// PutPageStates records page states of a source and deletes those of the
// URLs in drop, in one transaction.
func (s *Store) PutPageStates(source uint64, put []PageState, drop []string) error {
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketSourcePages)
		if err != nil {
			return err
		}
		for _, p := range put {
			if err := putJSON(b, pageKey(source, p.URL), p); err != nil {
				return err
			}
		}
		for _, u := range drop {
			if err := b.Delete(pageKey(source, u)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record page states of source %d: %w", source, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
