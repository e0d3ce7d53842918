package conversation

import (
	"context"
	"fmt"
	"testing"

	"github.com/chatbot/chatbot/store"
)

// BenchmarkTurn is a synchronous turn through the real engine (a
// retriever that returns one passage at once) and the real store, with
// a delivery job per reply: the service's own cost around answering.
//
//	go test -run '^$' -bench Turn -benchmem ./conversation/
func BenchmarkTurn(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("fsync=%v", sync), func(b *testing.B) {
			st, err := store.Open(b.TempDir(), store.Options{NoSync: !sync})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			c := &store.WebhookConfig{Name: "Chatwoot", Provider: "chatwoot", IsActive: true, ResponseMode: store.ResponseSync,
				IncomingTokenHash: "h1", OutgoingURL: "http://127.0.0.1:1/hook"}
			if err := st.CreateConfig(c); err != nil {
				b.Fatal(err)
			}
			e := engineFor(b, st)
			s := New(st, e, Options{Observers: []Observer{&outcomes{}}})
			ctx := context.Background()
			commits := st.Commits()
			b.ResetTimer()
			for i := range b.N {
				in := inbound(c.ID, fmt.Sprint("m", i), "how long do refunds take?")
				in.ConversationID = fmt.Sprint("c", i%64)
				in.Deliver = true
				if _, err := s.Handle(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.Commits()-commits)/float64(b.N), "commits/turn")
		})
	}
}
