package store

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTestStore(t *testing.T, now func() time.Time) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{Now: now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("check: %v", err)
		}
		s.Close()
	})
	return s
}

func TestWidgetLifecycle(t *testing.T) {
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := openTestStore(t, func() time.Time { return clock })

	w := &Widget{Name: "Docs site", Key: "wk_one", AllowedOrigins: []string{"https://docs.example.com"}, RatePerMinute: 20, IsActive: true}
	if err := s.CreateWidget(w); err != nil {
		t.Fatal(err)
	}
	if w.ID != 1 || !w.CreatedAt.Equal(clock) {
		t.Fatalf("created %+v", w)
	}
	if err := s.CreateWidget(&Widget{Name: "dup", Key: "wk_one"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate key: got %v, want ErrConflict", err)
	}
	got, err := s.WidgetByKey("wk_one")
	if err != nil || got.Name != "Docs site" || got.AllowedOrigins[0] != "https://docs.example.com" {
		t.Fatalf("by key: %+v %v", got, err)
	}

	clock = clock.Add(time.Hour)
	up, err := s.UpdateWidget(1, func(w *Widget) error { w.Key = "wk_two"; w.IsActive = false; return nil })
	if err != nil || up.Key != "wk_two" || !up.UpdatedAt.Equal(clock) || up.IsActive {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, err := s.WidgetByKey("wk_one"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old key after rotation: got %v, want ErrNotFound", err)
	}
	list, err := s.Widgets()
	if err != nil || len(list) != 1 || list[0].Key != "wk_two" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.DeleteWidget(1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Widget(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := s.WidgetByKey("wk_two"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("key after delete: %v", err)
	}
	if err := s.DeleteWidget(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func putTestMessage(t *testing.T, s *Store, m Message) {
	t.Helper()
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMessages)
		id, _ := b.NextSequence()
		m.ID = id
		data, _ := json.Marshal(m)
		return b.Put(itob(id), data)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMessageStats(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 30, 0, 0, time.UTC)
	s := openTestStore(t, func() time.Time { return now })
	old := now.Add(-48 * time.Hour)
	putTestMessage(t, s, Message{Type: MessageIncoming, Platform: "zendesk", CreatedAt: old})
	for i := range 4 {
		at := now.Add(-time.Duration(i) * time.Hour)
		putTestMessage(t, s, Message{Type: MessageIncoming, Platform: "freshchat", CreatedAt: at})
		status := StatusSent
		if i == 3 {
			status = StatusFailed
		}
		putTestMessage(t, s, Message{Type: MessageOutgoing, Status: status, LatencyMS: int64(100 * (i + 1)), CreatedAt: at})
	}
	putTestMessage(t, s, Message{Type: MessageIncoming, Platform: "widget", CreatedAt: now})

	st, err := s.MessageStats(now.Add(-24*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if st.Scanned != 9 || st.Incoming["freshchat"] != 4 || st.Incoming["widget"] != 1 || st.Incoming["zendesk"] != 0 {
		t.Fatalf("counts: %+v", st)
	}
	if st.Outgoing[StatusSent] != 3 || st.Outgoing[StatusFailed] != 1 || st.DeliveryRate != 0.75 {
		t.Fatalf("delivery: %+v rate %v", st.Outgoing, st.DeliveryRate)
	}
	if st.LatencyP50 != 200 || st.LatencyP95 != 400 {
		t.Fatalf("latency p50 %d p95 %d, want 200 and 400", st.LatencyP50, st.LatencyP95)
	}
	if len(st.Series) != 25 {
		t.Fatalf("series has %d slots, want 25", len(st.Series))
	}
	last := st.Series[24]
	if !last.Start.Equal(time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)) || last.Incoming != 2 || last.Outgoing != 1 {
		t.Fatalf("last slot %+v", last)
	}

	keys, err := s.BucketKeys()
	if err != nil || keys["messages"] != 10 || keys["widgets"] != 0 {
		t.Fatalf("bucket keys %v %v", keys, err)
	}
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		xs   []int64
		p    int
		want int64
	}{
		{nil, 50, 0},
		{[]int64{7}, 95, 7},
		{[]int64{1, 2, 3, 4}, 50, 2},
		{[]int64{4, 3, 2, 1}, 95, 4},
		{[]int64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 95, 100},
		{[]int64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 50, 50},
	}
	for _, tc := range tests {
		if got := percentile(tc.xs, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %d) = %d, want %d", tc.xs, tc.p, got, tc.want)
		}
	}
}
