package store

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkTurnWrite stores synchronous turns (message, reply with its
// delivery job, memory) over 64 conversations, in one commit or in two
// (the message alone first), and reports the pages each turn writes: an
// fsync'd commit costs with the pages it writes, not only per commit.
//
//	go test -run '^$' -bench TurnWrite -benchtime 3000x ./store/
func BenchmarkTurnWrite(b *testing.B) {
	for _, one := range []bool{true, false} {
		b.Run(fmt.Sprintf("one_commit=%v", one), func(b *testing.B) {
			s := openTest(b, Options{NoSync: true})
			before := s.db.Stats().TxStats
			commits := s.Commits()
			i := 0
			for b.Loop() {
				conv := fmt.Sprint("c", i%64)
				m := &Message{ConfigID: 1, Platform: "chatwoot", ConversationID: conv, UserID: "u1", Text: "how long do refunds take?",
					PlatformMessageID: fmt.Sprint("m", i)}
				out := &Message{Type: MessageOutgoing, ConfigID: 1, Platform: "chatwoot", ConversationID: conv, UserID: "u1",
					Text: "Refunds take five days.", ResponseType: "extractive"}
				mem := MemoryAppend{Ref: m.Ref(), Budget: 768, MaxTurns: 20, Turns: []Turn{
					{Role: RoleUser, Text: m.Text, Tokens: 8}, {Role: RoleAssistant, Text: out.Text, Tokens: 6}}}
				var err error
				if one {
					err = s.InsertReply(0, out, true, &NewIncoming{Message: m, Retention: time.Hour}, mem)
				} else {
					var res IncomingResult
					if res, err = s.InsertIncoming(m, time.Hour); err == nil {
						err = s.InsertReply(res.Message.ID, out, true, mem)
					}
				}
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
			after := s.db.Stats().TxStats
			d := after.Sub(&before)
			b.ReportMetric(float64(d.GetWrite())/float64(i), "pages/turn")
			b.ReportMetric(float64(s.Commits()-commits)/float64(i), "commits/turn")
		})
	}
}
