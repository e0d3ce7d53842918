package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// StatsScanLimit bounds how many of the newest messages MessageStats reads,
// so the overview stays cheap on a large history.
const StatsScanLimit = 20000

// MessageStats summarises recent messages for the admin overview.
type MessageStats struct {
	Scanned    int            `json:"scanned"`
	Incoming   map[string]int `json:"incoming_by_platform"`
	Outgoing   map[Status]int `json:"outgoing_by_status"`
	LatencyP50 int64          `json:"latency_p50_ms"`
	LatencyP95 int64          `json:"latency_p95_ms"`
	// DeliveryRate is sent / (sent + failed), or -1 when nothing finished.
	DeliveryRate float64      `json:"delivery_success_rate"`
	Series       []StatsPoint `json:"series"`
}

// StatsPoint is the number of messages of one time slot.
type StatsPoint struct {
	Start    time.Time `json:"start"`
	Incoming int       `json:"incoming"`
	Outgoing int       `json:"outgoing"`
}

// MessageStats reads the newest messages (at most StatsScanLimit) created
// after since, and counts them per platform and status, with answer
// latency percentiles and a series of slots of width step (since to now).
func (s *Store) MessageStats(since time.Time, step time.Duration) (*MessageStats, error) {
	if step <= 0 {
		return nil, fmt.Errorf("message stats: step must be positive")
	}
	now := s.now().UTC()
	st := &MessageStats{Incoming: map[string]int{}, Outgoing: map[Status]int{}, DeliveryRate: -1}
	for t := since.UTC().Truncate(step); !t.After(now); t = t.Add(step) {
		st.Series = append(st.Series, StatsPoint{Start: t})
	}
	var latencies []int64
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketMessages).Cursor()
		for k, v := c.Last(); k != nil && st.Scanned < StatsScanLimit; k, v = c.Prev() {
			var m Message
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode message %d: %w", btoi(k), err)
			}
			if m.CreatedAt.Before(since) {
				break // ids grow with time: everything older follows
			}
			st.Scanned++
			slot := -1
			if len(st.Series) > 0 {
				slot = int(m.CreatedAt.UTC().Sub(st.Series[0].Start) / step)
			}
			inSeries := slot >= 0 && slot < len(st.Series)
			switch m.Type {
			case MessageIncoming:
				st.Incoming[m.Platform]++
				if inSeries {
					st.Series[slot].Incoming++
				}
			default:
				st.Outgoing[m.Status]++
				if inSeries {
					st.Series[slot].Outgoing++
				}
				if m.Type == MessageOutgoing && m.LatencyMS > 0 {
					latencies = append(latencies, m.LatencyMS)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if done := st.Outgoing[StatusSent] + st.Outgoing[StatusFailed]; done > 0 {
		st.DeliveryRate = float64(st.Outgoing[StatusSent]) / float64(done)
	}
	st.LatencyP50, st.LatencyP95 = percentile(latencies, 50), percentile(latencies, 95)
	return st, nil
}

// percentile is the nearest-rank percentile of xs (0 when empty).
func percentile(xs []int64, p int) int64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	rank := (p*len(xs) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	return xs[rank-1]
}

// BucketKeys returns the number of keys in each named top-level bucket
// (every bucket when none is named). Counting walks the bucket's pages,
// so callers name the small buckets they show: counting every bucket read
// the whole file, the knowledge base's chunks and vectors included (550 MB
// at 100,000 chunks), and /metrics did that at each scrape, leaving the
// file resident in memory.
func (s *Store) BucketKeys(names ...string) (map[string]int, error) {
	want := allBuckets
	if len(names) > 0 {
		want = make([][]byte, len(names))
		for i, n := range names {
			want[i] = []byte(n)
		}
	}
	out := map[string]int{}
	err := s.view(func(tx *bolt.Tx) error {
		for _, name := range want {
			if b := tx.Bucket(name); b != nil {
				out[string(name)] = b.Stats().KeyN
			}
		}
		return nil
	})
	return out, err
}

// MessageCount is the number of messages in the history: one read of the
// message index's total (messages stored before the index existed, by a
// release older than it, are not counted).
func (s *Store) MessageCount() (int, error) {
	var n int
	err := s.view(func(tx *bolt.Tx) error {
		n = int(btoi(tx.Bucket(bucketMessageCounts).Get(comboKey(0, indexFields{}))))
		return nil
	})
	return n, err
}
