//go:build unix

package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkMigrateSchema1 measures the schema 1 -> 2 migration of the
// fixture grown to 100,000 incoming messages with dedupe entries and 10,000
// memories, written in the schema-1 layout:
//
//	go test -run '^$' -bench MigrateSchema1 -benchtime 3x ./store/
func BenchmarkMigrateSchema1(b *testing.B) {
	messages, memories := 100_000, 10_000
	if os.Getenv("BENCH_SMALL") != "" {
		messages, memories = 20_000, 2_000
	}
	src := b.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "schema1.db"))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(src, FileName)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	legacy := func(platform, id string) []byte { // schema 1: uvarint(len) || platform || id
		return append(binary.AppendUvarint(nil, uint64(len(platform))), platform+id...)
	}
	at := time.Date(2026, 1, 19, 13, 0, 0, 0, time.UTC)
	err = db.Update(func(tx *bolt.Tx) error {
		msgs, d, byTime, convs := tx.Bucket(bucketMessages), tx.Bucket(bucketDedupe), tx.Bucket(bucketDedupeByTime), tx.Bucket(bucketConversations)
		for i := range messages {
			id, _ := msgs.NextSequence()
			m := Message{ID: id, Type: MessageIncoming, Status: StatusReceived, ConfigID: uint64(1 + i%3), Platform: "zendesk",
				ConversationID: fmt.Sprintf("bench-%d", i%memories), PlatformMessageID: fmt.Sprintf("bench-%d", i), Text: "hello", CreatedAt: at}
			v, _ := json.Marshal(m)
			if err := msgs.Put(itob(id), v); err != nil {
				return err
			}
			ts := itob(uint64(at.UnixNano()) + uint64(i))
			k := legacy("zendesk", m.PlatformMessageID)
			if err := d.Put(k, append(itob(id), ts...)); err != nil {
				return err
			}
			if err := byTime.Put(append(ts, itob(id)...), k); err != nil {
				return err
			}
		}
		for i := range memories {
			c := Conversation{Platform: "zendesk", ConversationID: fmt.Sprintf("bench-%d", i), Turns: []Turn{{Role: RoleUser, Text: "hello", Tokens: 1}}, UpdatedAt: at}
			v, _ := json.Marshal(c)
			if err := convs.Put(legacy("zendesk", c.ConversationID), v); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		b.Fatal(err)
	}
	grown, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), grown, 0o600); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		before := processCPU()
		s, err := Open(dir, Options{NoSync: true, Now: func() time.Time { return at }})
		cpu += processCPU() - before
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	// The wall time depends on how busy the machine is; the CPU time
	// (user + system, all threads) does not.
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
