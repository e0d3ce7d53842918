package webhook

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// benchQueue fills a store in dir with n pending deliveries to url, spread
// over 256 conversations, and reopens it with fsync on (as serve runs).
func benchQueue(b *testing.B, dir, url string, n int) (*store.Store, *store.WebhookConfig) {
	b.Helper()
	st, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	cfg := &store.WebhookConfig{Name: "bench", Provider: "bench", OutgoingURL: url, TimeoutSeconds: 5,
		RetryAttempts: 3, IsActive: true, AuthToken: "tok_bench_123456", SigningSecret: secret.NewSigningSecret()}
	if err := st.CreateConfig(cfg); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := st.AddOutgoingForDelivery(&store.Message{Type: store.MessageOutgoing, ConfigID: cfg.ID,
			Platform: "bench", ConversationID: fmt.Sprintf("conv_%d", i%256), UserID: "u",
			Text: "An answer of a typical length, a couple of sentences with a source cited.", ResponseType: "rag_knowledge_base"}); err != nil {
			b.Fatal(err)
		}
	}
	st.Close()
	st, err = store.Open(dir, store.Options{NoSync: os.Getenv("BENCH_NOSYNC") != ""})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st, cfg
}

// BenchmarkDeliveryThroughput is deliveries per second to a local receiver
// that answers 204 at once, for pool sizes 1, 8 and 32. Each delivery is a
// claim commit, a signed POST and a result commit, with fsync.
func BenchmarkDeliveryThroughput(b *testing.B) {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	for _, workers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			st, _ := benchQueue(b, b.TempDir(), recv.URL, b.N)
			done := make(chan struct{}, b.N)
			policy, _ := ParseAllowList("127.0.0.0/8")
			w := NewWorker(st, NewSender(policy, SenderOptions{}), discardLog(), WorkerOptions{Workers: workers,
				OnAttempt: func(r AttemptReport) {
					if r.Outcome.Status != store.StatusSent {
						b.Errorf("attempt %+v", r)
					}
					done <- struct{}{}
				}})
			b.ResetTimer()
			start := time.Now()
			if err := w.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i++ {
				<-done
			}
			elapsed := time.Since(start)
			b.StopTimer()
			if err := w.Stop(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkDeliveryCommits is the bbolt cost of one delivery without the
// HTTP part: the claim (a read: it is held in memory) and the result
// transaction, fsync on; the commits are counted.
func BenchmarkDeliveryCommits(b *testing.B) {
	st, _ := benchQueue(b, b.TempDir(), "http://127.0.0.1:1", b.N)
	policy := store.RetryPolicy{Base: time.Second, Cap: time.Minute}
	commits := st.Commits()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ds, err := st.ClaimDeliveries(st.Now(), 1, nil)
		if err != nil || len(ds) != 1 {
			b.Fatalf("claim: %d, %v", len(ds), err)
		}
		if _, err := st.RecordDeliveryAttempt(ds[0].Job.MessageID, store.DeliveryAttempt{OK: true, StatusCode: 204, MaxAttempts: 4}, policy); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.Commits()-commits)/float64(b.N), "commits/op") // counted: the claim is in memory
}
