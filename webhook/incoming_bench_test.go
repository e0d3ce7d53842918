package webhook

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

type noopAnswerer struct{}

func (noopAnswerer) Answer(context.Context, chat.Request) (chat.Reply, error) {
	return chat.Reply{Answer: "ok", Type: chat.TypeGeneral}, nil
}

// benchmarkIncoming measures the handler's own cost per request (auth,
// limits, parsing, dedupe, one bbolt commit for the message and its reply,
// response) with an engine that answers at once. fsync says whether bbolt
// syncs on commit.
func benchmarkIncoming(b *testing.B, fsync, withID bool) {
	box, _ := secret.NewBox(bytes.Repeat([]byte{3}, 32))
	st, err := store.Open(b.TempDir(), store.Options{Sealer: box, NoSync: !fsync})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	in := NewIncoming(st, conversation.New(st, noopAnswerer{}, conversation.Options{}), quietLog(), IncomingOptions{RatePerMinute: 1 << 30})
	v, err := NewConfigs(st).Create(cfgInput("Bench", "freshchat", "https://platform.example/hook"))
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	commits := st.Commits()
	for b.Loop() {
		i++
		body := validIncoming
		if withID {
			body = withMessageID("bench-" + strconv.Itoa(i))
		}
		r := httptest.NewRequest(http.MethodPost, "/api/webhook/incoming", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+v.IncomingToken)
		rec := httptest.NewRecorder()
		in.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(st.Commits()-commits)/float64(i), "commits/op")
}

func BenchmarkIncomingHandler(b *testing.B) {
	b.Run("nosync", func(b *testing.B) { benchmarkIncoming(b, false, false) })
	b.Run("nosync_message_id", func(b *testing.B) { benchmarkIncoming(b, false, true) })
	b.Run("fsync", func(b *testing.B) { benchmarkIncoming(b, true, false) })
}
