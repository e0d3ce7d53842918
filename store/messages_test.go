package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fakeClock is a settable clock for retention tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func incoming(platform, conv, pid string) *Message {
	return &Message{Platform: platform, ConversationID: conv, UserID: "u1", Text: "hello", PlatformMessageID: pid, ConfigID: 1}
}

func TestInsertIncomingDedupe(t *testing.T) {
	s := openTest(t, Options{})
	const week = 7 * 24 * time.Hour
	first, err := s.InsertIncoming(incoming("freshchat", "c1", "m-1"), week)
	if err != nil || first.Duplicate || first.Message.ID != 1 || first.Message.Status != StatusReceived || first.Message.Type != MessageIncoming {
		t.Fatalf("first = %+v, %v", first, err)
	}
	dup, err := s.InsertIncoming(incoming("freshchat", "c1", "m-1"), week)
	if err != nil || !dup.Duplicate || dup.Message.ID != 1 || dup.Response != nil {
		t.Fatalf("duplicate = %+v, %v", dup, err)
	}
	// Same id through another integration (of the same provider, too), and
	// no id at all: both new.
	otherIntegration := incoming("freshchat", "c1", "m-1")
	otherIntegration.ConfigID = 2
	other, _ := s.InsertIncoming(otherIntegration, week)
	noID1, _ := s.InsertIncoming(incoming("freshchat", "c1", ""), week)
	noID2, _ := s.InsertIncoming(incoming("freshchat", "c1", ""), week)
	if other.Duplicate || noID1.Duplicate || noID2.Duplicate || other.Message.ID != 2 || noID2.Message.ID != 4 {
		t.Fatalf("other=%+v noID=%+v %+v", other, noID1, noID2)
	}
	out := &Message{Platform: "freshchat", ConversationID: "c1", Text: "answer", ResponseType: "extractive", ConfigID: 1, LatencyMS: 12}
	if err := s.InsertReply(1, out, true); err != nil {
		t.Fatal(err)
	}
	if out.ID != 5 || out.Status != StatusPending || out.ReplyTo != 1 || out.Type != MessageOutgoing {
		t.Fatalf("reply = %+v", out)
	}
	dup, err = s.InsertIncoming(incoming("freshchat", "c1", "m-1"), week)
	if err != nil || !dup.Duplicate || dup.Response == nil || dup.Response.ID != 5 || dup.Message.ResponseID != 5 || dup.Message.ResponseType != "extractive" {
		t.Fatalf("duplicate after reply = %+v, %v", dup, err)
	}
	byID, err := s.IncomingByPlatformID(ConvRef{ConfigID: 1}, "m-1", week)
	if err != nil || byID.Message.ID != 1 || byID.Response.ID != 5 {
		t.Fatalf("IncomingByPlatformID = %+v, %v", byID, err)
	}
	if _, err := s.IncomingByPlatformID(ConvRef{ConfigID: 1}, "nope", week); err == nil {
		t.Fatal("unknown id found")
	}
	var job DeliveryJob
	if err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDeliveryJobs).Get(itob(5))
		if v == nil {
			return fmt.Errorf("no delivery job for message 5")
		}
		return json.Unmarshal(v, &job)
	}); err != nil {
		t.Fatal(err)
	}
	if job.MessageID != 5 || job.ConfigID != 1 || job.ConversationID != "c1" {
		t.Fatalf("job = %+v", job)
	}
}

func TestInsertReplyWithoutURLIsSentAndHasNoJob(t *testing.T) {
	s := openTest(t, Options{})
	in, _ := s.InsertIncoming(incoming("chatwoot", "c9", ""), time.Hour)
	out := &Message{Platform: "chatwoot", ConversationID: "c9", Text: "a"}
	if err := s.InsertReply(in.Message.ID, out, false); err != nil {
		t.Fatal(err)
	}
	if out.Status != StatusSent {
		t.Fatalf("status = %s", out.Status)
	}
	_ = s.view(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucketDeliveryJobs).Stats().KeyN; n != 0 {
			t.Errorf("%d delivery jobs, want 0", n)
		}
		return nil
	})
	_, before, _ := s.ListMessages(MessageFilter{}, 0, 1)
	if err := s.InsertReply(999, &Message{Text: "orphan"}, true); err == nil {
		t.Fatal("reply to a missing message stored")
	}
	if _, after, _ := s.ListMessages(MessageFilter{}, 0, 1); after != before {
		t.Fatalf("messages %d -> %d after a reply to a missing message; want nothing stored", before, after)
	}
	if n, err := s.PendingDeliveries(); err != nil || n != 0 {
		t.Fatalf("pending deliveries = %d, %v after a reply to a missing message; want 0", n, err)
	}
}

func TestInsertIncomingConcurrentSameID(t *testing.T) {
	s := openTest(t, Options{})
	var wg sync.WaitGroup
	results := make([]IncomingResult, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.InsertIncoming(incoming("freshchat", "c1", "same"), time.Hour)
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	fresh := 0
	for _, r := range results {
		if !r.Duplicate {
			fresh++
		}
		if r.Message.ID != 1 {
			t.Errorf("message id %d, want 1", r.Message.ID)
		}
	}
	if fresh != 1 {
		t.Fatalf("%d new messages, want exactly 1", fresh)
	}
}

func TestDedupeRetentionSurvivesRestartAndPrunes(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	const week = 7 * 24 * time.Hour
	s, err := Open(dir, Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertIncoming(incoming("freshchat", "c", "old"), week); err != nil {
		t.Fatal(err)
	}
	s.Close()
	clk.add(72 * time.Hour)
	s, err = Open(dir, Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.InsertIncoming(incoming("freshchat", "c", "old"), week)
	if err != nil || !r.Duplicate || r.Message.ID != 1 {
		t.Fatalf("72 h later after restart = %+v, %v; want the duplicate of 1", r, err)
	}
	clk.add(5*24*time.Hour + time.Second) // 8 days after the first
	if _, err := s.InsertIncoming(incoming("freshchat", "c", "new"), week); err != nil {
		t.Fatal(err)
	}
	_ = s.view(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucketDedupe).Stats().KeyN; n != 1 {
			t.Errorf("dedupe keys after prune = %d, want 1 (only \"new\")", n)
		}
		if n := tx.Bucket(bucketDedupeByTime).Stats().KeyN; n != 1 {
			t.Errorf("dedupe time keys after prune = %d, want 1", n)
		}
		return nil
	})
	r, err = s.InsertIncoming(incoming("freshchat", "c", "old"), week)
	if err != nil || r.Duplicate || r.Message.ID != 3 {
		t.Fatalf("after retention = %+v, %v; want a new message 3", r, err)
	}
	clk.add(8 * 24 * time.Hour)
	if n, err := s.PruneDedupe(week); err != nil || n != 2 {
		t.Fatalf("PruneDedupe = %d, %v; want 2", n, err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if filepath.Base(s.Path()) != FileName {
		t.Fatal(s.Path())
	}
}

func TestListMessagesFiltersAndIndexFollowsStatus(t *testing.T) {
	s := openTest(t, Options{})
	for i := range 10 {
		platform := "freshchat"
		if i%2 == 1 {
			platform = "zendesk"
		}
		in, err := s.InsertIncoming(incoming(platform, fmt.Sprintf("c%d", i%3), ""), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		out := &Message{Platform: platform, ConversationID: in.Message.ConversationID, Text: "a", ConfigID: 1}
		if err := s.InsertReply(in.Message.ID, out, i < 6); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(ms []*Message) []uint64 {
		var out []uint64
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	cases := []struct {
		f      MessageFilter
		offset int
		limit  int
		want   []uint64
		total  int
	}{
		{MessageFilter{}, 0, 3, []uint64{20, 19, 18}, 20},
		{MessageFilter{}, 18, 5, []uint64{2, 1}, 20},
		{MessageFilter{}, 20, 5, nil, 20},
		{MessageFilter{Type: MessageIncoming}, 0, 100, []uint64{19, 17, 15, 13, 11, 9, 7, 5, 3, 1}, 10},
		{MessageFilter{Platform: "zendesk", Type: MessageOutgoing}, 0, 100, []uint64{20, 16, 12, 8, 4}, 5},
		{MessageFilter{Status: StatusPending}, 0, 100, []uint64{12, 10, 8, 6, 4, 2}, 6},
		{MessageFilter{Status: StatusSent, Platform: "freshchat"}, 0, 100, []uint64{18, 14}, 2},
		{MessageFilter{ConversationID: "c0"}, 1, 2, []uint64{19, 14}, 8},
		{MessageFilter{Platform: "intercom"}, 0, 10, nil, 0},
		{MessageFilter{Status: "bogus"}, 0, 10, nil, 0},
	}
	for _, c := range cases {
		got, total, err := s.ListMessages(c.f, c.offset, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint(c.want) || total != c.total {
			t.Errorf("%+v offset %d: ids %v total %d, want %v total %d", c.f, c.offset, ids(got), total, c.want, c.total)
		}
	}
	// The delivery helper changes status only through updateMessageTx.
	if err := s.update(func(tx *bolt.Tx) error {
		_, err := updateMessageTx(tx, 2, s.now(), func(m *Message) error { m.Status = StatusFailed; return nil })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	pending, total, _ := s.ListMessages(MessageFilter{Status: StatusPending}, 0, 100)
	failed, ftotal, _ := s.ListMessages(MessageFilter{Status: StatusFailed, Platform: "freshchat", ConversationID: "c0"}, 0, 100)
	if total != 5 || len(pending) != 5 || ftotal != 1 || len(failed) != 1 || failed[0].ID != 2 {
		t.Fatalf("after status change: pending %v (%d), failed %v (%d)", ids(pending), total, ids(failed), ftotal)
	}
	if _, all, _ := s.ListMessages(MessageFilter{}, 0, 1); all != 20 {
		t.Fatalf("total after status change = %d, want 20", all)
	}
}

// seedMessages stores n incoming messages quickly, 10,000 per transaction.
func seedMessages(tb testing.TB, s *Store, n int) {
	tb.Helper()
	for done := 0; done < n; {
		err := s.update(func(tx *bolt.Tx) error {
			for i := 0; i < 10000 && done < n; i++ {
				m := incoming([]string{"freshchat", "zendesk", "intercom"}[done%3], fmt.Sprintf("conv_%d", done%5000), "")
				m.Type, m.Status = MessageIncoming, StatusReceived
				if err := insertMessageTx(tx, m, s.now()); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

func benchmarkList(b *testing.B, f MessageFilter, page int) {
	s := openTest(b, Options{NoSync: true})
	seedMessages(b, s, 100_000)
	b.ResetTimer()
	for b.Loop() {
		ms, total, err := s.ListMessages(f, (page-1)*20, 20)
		if err != nil || len(ms) != 20 || total == 0 {
			b.Fatalf("got %d of %d: %v", len(ms), total, err)
		}
	}
}

// BenchmarkListMessages lists 20 per page out of 100,000 stored messages.
func BenchmarkListMessages(b *testing.B) {
	b.Run("page1", func(b *testing.B) { benchmarkList(b, MessageFilter{}, 1) })
	b.Run("page500", func(b *testing.B) { benchmarkList(b, MessageFilter{}, 500) })
	b.Run("platform_page1", func(b *testing.B) { benchmarkList(b, MessageFilter{Platform: "zendesk"}, 1) })
	b.Run("platform_page500", func(b *testing.B) { benchmarkList(b, MessageFilter{Platform: "zendesk"}, 500) })
}

// BenchmarkInsertIncoming measures one stored incoming message with
// dedupe (fsync off: the cost of our indexes, not of the disk).
func BenchmarkInsertIncoming(b *testing.B) {
	s := openTest(b, Options{NoSync: true})
	i := 0
	for b.Loop() {
		i++
		if _, err := s.InsertIncoming(incoming("freshchat", "c1", fmt.Sprint(i)), time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

// TestListMessagesMatchesBruteForce inserts and changes messages at random
// and checks every filter combination against a plain scan: same ids in
// the same order, same total.
func TestListMessagesMatchesBruteForce(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	rng := rand.New(rand.NewPCG(1, 2))
	platforms := []string{"freshchat", "zendesk", "a\x00b"}
	statuses := []Status{StatusPending, StatusSent, StatusFailed}
	convs := []string{"c1", "c2", "c12", ""}
	for range 300 {
		if rng.IntN(4) == 0 {
			id := uint64(rng.IntN(200) + 1)
			err := s.update(func(tx *bolt.Tx) error {
				_, err := updateMessageTx(tx, id, s.now(), func(m *Message) error {
					if m.Type == MessageIncoming {
						return nil
					}
					m.Status = statuses[rng.IntN(len(statuses))]
					return nil
				})
				return err
			})
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
			continue
		}
		in, err := s.InsertIncoming(incoming(platforms[rng.IntN(3)], convs[rng.IntN(4)], ""), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if rng.IntN(2) == 0 {
			out := &Message{Platform: in.Message.Platform, ConversationID: in.Message.ConversationID, Type: []MessageType{MessageOutgoing, MessageAgentOutgoing}[rng.IntN(2)]}
			if err := s.InsertReply(in.Message.ID, out, rng.IntN(2) == 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, _, err := s.ListMessages(MessageFilter{}, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(platforms, "") {
		for _, typ := range []MessageType{MessageIncoming, MessageOutgoing, MessageAgentOutgoing, ""} {
			for _, st := range append(statuses, StatusReceived, "") {
				for _, c := range convs {
					f := MessageFilter{Platform: p, Type: typ, Status: st, ConversationID: c}
					var want []uint64
					for _, m := range all {
						if (p == "" || m.Platform == p) && (typ == "" || m.Type == typ) && (st == "" || m.Status == st) && (c == "" || m.ConversationID == c) {
							want = append(want, m.ID)
						}
					}
					got, total, err := s.ListMessages(f, 0, 1<<30)
					if err != nil {
						t.Fatal(err)
					}
					var ids []uint64
					for _, m := range got {
						ids = append(ids, m.ID)
					}
					if fmt.Sprint(ids) != fmt.Sprint(want) || total != len(want) {
						t.Fatalf("%+v: got %v (total %d), want %v", f, ids, total, want)
					}
				}
			}
		}
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].ID <= all[i].ID {
			t.Fatalf("not newest first at %d: %d then %d", i, all[i-1].ID, all[i].ID)
		}
	}
}
