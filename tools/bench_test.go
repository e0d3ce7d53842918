package tools

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/internal/netguard"
	"github.com/chatbot/chatbot/store"
)

// BenchmarkToolTurn is a tool-answered turn through the engine (trigger
// match, the call to a fake API over loopback that answers at once, the
// call recorded, the answer rendered, the turn remembered: bbolt with
// fsync) against the call alone; the difference of the medians is the
// engine's own overhead around the call.
//
//	go test -run '^$' -bench BenchmarkToolTurn -benchtime 2000x ./tools/
//
// The NoSync variant leaves out the fsyncs (the call's record and the
// conversation memory), so what remains is the engine's CPU overhead.
func BenchmarkToolTurn(b *testing.B)       { benchToolTurn(b, false) }
func BenchmarkToolTurnNoSync(b *testing.B) { benchToolTurn(b, true) }

func benchToolTurn(b *testing.B, noSync bool) {
	api := newFakeAPI(b, jsonReply(shipped))
	st, err := store.Open(b.TempDir(), store.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	tool := orderTool()
	tool.URL = api.URL + "/api/orders/{order_id}?customer={{user_id}}"
	tool.Limits.CallsPerUserPerMinute = 600
	rec, _ := ToRecord(tool)
	if err := st.CreateTool(rec); err != nil {
		b.Fatal(err)
	}
	policy, _ := netguard.ParseAllowList("loopback")
	caller, err := NewCaller(Options{Policy: policy, Recorder: st})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := chat.NewEngine(chat.Config{Retriever: noPassages{}, Memory: st, Tools: NewStep(st, caller, StepOptions{}),
		Extract: func(string, []chat.Passage, int) (string, []chat.Passage) { return "", nil }})
	if err != nil {
		b.Fatal(err)
	}
	compiled, _ := Compile(tool)

	b.Run("turn", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for i := 0; b.Loop(); i++ {
			// A user per turn: the per-user limit is not what is measured.
			req := chat.Request{ConfigID: 1, Platform: "zendesk", ConversationID: fmt.Sprint("c", i), UserID: fmt.Sprint("u", i),
				Text: "Where is my order 12345?"}
			t0 := time.Now()
			r, err := eng.Answer(context.Background(), req)
			lat = append(lat, time.Since(t0))
			if err != nil || r.Type != chat.TypeAPITool {
				b.Fatalf("%v %+v", err, r)
			}
		}
		report(b, lat)
	})
	b.Run("call", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for i := 0; b.Loop(); i++ {
			t0 := time.Now()
			r := caller.Do(context.Background(), Call{Tool: compiled, Params: map[string]string{"order_id": "12345"},
				Who: Identity{UserID: fmt.Sprint("u", i)}})
			lat = append(lat, time.Since(t0))
			if r.Outcome != OutcomeOK {
				b.Fatal(r.Outcome)
			}
		}
		report(b, lat)
	})
}

func report(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), "p50_µs")
	b.ReportMetric(q(0.99), "p99_µs")
}
