package insights

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/store"
)

// benchStore opens a store on the clock; sync says whether commits fsync
// (the server's setting) or not (the bookkeeping's CPU cost alone).
func benchStore(b *testing.B, clk *clock, sync bool) *store.Store {
	b.Helper()
	st, err := store.Open(b.TempDir(), store.Options{Now: clk.Now, NoSync: !sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkObserve is the outcome bookkeeping's cost per answered message:
// one Observe (a bbolt transaction updating the conversation's episode,
// its day counts and the pending list) over 1,000 conversations.
func BenchmarkObserve(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("fsync=%t", sync), func(b *testing.B) {
			clk := &clock{t: start}
			st := benchStore(b, clk, sync)
			ins := New(st, Options{Now: clk.Now})
			reply := chat.Reply{Type: chat.TypeExtractive, Answer: "Here is how.", Sources: []chat.Source{{Score: 0.9}}}
			msgs := make([]*store.Message, 1000)
			for i := range msgs {
				msgs[i] = &store.Message{ID: uint64(i + 1), ConfigID: 1, Platform: "chatwoot", ConversationID: fmt.Sprintf("conv-%d", i), UserID: "u", Text: "how?"}
			}
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				clk.Add(time.Second)
				ins.Observe(ctx, conversation.Outcome{Message: msgs[i%len(msgs)], Answer: reply})
			}
			if f := ins.counters.recordFailures.Load(); f != 0 {
				b.Fatalf("%d outcomes not recorded", f)
			}
		})
	}
	// Concurrent turns share commits (the store's group commit): the
	// fsync is paid once per batch, not per message.
	b.Run("fsync=true/parallel=16", func(b *testing.B) {
		clk := &clock{t: start}
		st := benchStore(b, clk, true)
		ins := New(st, Options{Now: clk.Now})
		reply := chat.Reply{Type: chat.TypeExtractive, Answer: "Here is how.", Sources: []chat.Source{{Score: 0.9}}}
		var next atomic.Uint64
		b.SetParallelism(8) // 16 goroutines on 2 cores
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				i := next.Add(1)
				msg := &store.Message{ID: i, ConfigID: 1, Platform: "chatwoot", ConversationID: fmt.Sprintf("conv-%d", i%1000), UserID: "u", Text: "how?"}
				ins.Observe(ctx, conversation.Outcome{Message: msg, Answer: reply})
			}
		})
		if f := ins.counters.recordFailures.Load(); f != 0 {
			b.Fatalf("%d outcomes not recorded", f)
		}
	})
}

// seedConversations records n conversations over the 90 days before
// start+90d, one or two turns each, of 4 integrations, with every outcome.
func seedConversations(b *testing.B, st *store.Store, clk *clock, n int) {
	b.Helper()
	kinds := []store.TurnKind{store.TurnAnswered, store.TurnAnswered, store.TurnAnswered, store.TurnNoAnswer, store.TurnHandoff}
	step := 90 * 24 * time.Hour / time.Duration(n)
	for i := 0; i < n; i++ {
		clk.Add(step)
		ref := store.ConvRef{ConfigID: uint64(i%4 + 1), Platform: "chatwoot", ConversationID: fmt.Sprintf("conv-%d", i)}
		if err := st.RecordTurn(store.TurnEvent{Ref: ref, UserID: "u", Kind: kinds[i%len(kinds)], At: clk.Now()}, store.DefaultQuietPeriod); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsightsAPI is GET /api/insights over real HTTP with 100,000
// conversations stored: the last 90 days, all integrations or one.
func BenchmarkInsightsAPI(b *testing.B) {
	clk := &clock{t: start}
	st := benchStore(b, clk, false)
	seedConversations(b, st, clk, 100_000)
	ins := New(st, Options{Now: clk.Now})
	r := mux.NewRouter()
	ins.Routes(r, func(h http.Handler) http.Handler { return h })
	srv := httptest.NewServer(r)
	defer srv.Close()
	to := store.Day(clk.Now())
	from := store.Day(clk.Now().AddDate(0, 0, -89))
	for _, c := range []struct{ name, path string }{
		{"all-90d", "/api/insights?from=" + from + "&to=" + to},
		{"integration-90d", "/api/insights?integration=2&from=" + from + "&to=" + to},
		{"all-7d", "/api/insights"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				res, err := http.Get(srv.URL + c.path)
				if err != nil {
					b.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
}

// BenchmarkGaps is GET /api/insights/gaps with 1,000 gap questions (the
// most one reading clusters): embedding and clustering.
func BenchmarkGaps(b *testing.B) {
	clk := &clock{t: start}
	st := benchStore(b, clk, false)
	topics := []string{"pay with paypal", "refund for my order", "ship to canada", "opening hours", "student discount",
		"delete my account", "change my invoice address", "track my parcel", "gift card balance", "reset two factor"}
	for i := 0; i < 1000; i++ {
		clk.Add(time.Minute)
		q := fmt.Sprintf("how can I %s, question %d", topics[i%len(topics)], i)
		ref := store.ConvRef{ConfigID: 1, Platform: "chatwoot", ConversationID: fmt.Sprintf("c%d", i)}
		g := &store.GapQuestion{QuestionID: uint64(i + 1), ConfigID: 1, ConversationID: ref.ConversationID, Question: q, Reason: "no_answer", At: clk.Now()}
		if err := st.RecordTurn(store.TurnEvent{Ref: ref, Kind: store.TurnNoAnswer, At: clk.Now(), Gap: g}, store.DefaultQuietPeriod); err != nil {
			b.Fatal(err)
		}
	}
	ins := New(st, Options{Now: clk.Now})
	r := mux.NewRouter()
	ins.Routes(r, func(h http.Handler) http.Handler { return h })
	srv := httptest.NewServer(r)
	defer srv.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := http.Get(srv.URL + "/api/insights/gaps")
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}
