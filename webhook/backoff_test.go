package webhook

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chatbot/chatbot/store"
)

// recordingHandler keeps the records logged through it.
type recordingHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r.Clone())
	h.mu.Unlock()
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

// messages returns the records with message msg and the value of attr key
// in each.
func (h *recordingHandler) values(msg, key string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		if r.Message != msg {
			continue
		}
		v := ""
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				v = a.Value.String()
			}
			return true
		})
		out = append(out, v)
	}
	return out
}

// While every storage call fails (here the store is closed under the
// running worker), the dispatcher backs off exponentially to a minute and
// logs once per step: 15 lines in 10 minutes, where it logged once per
// poll (600) and, when the due index still answered, spun at full CPU
// (53,819 lines in 6 s in issue 13). synctest's clock makes the minutes
// pass at once.
func TestDispatcherBacksOffWhileTheStoreFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, err := store.Open(t.TempDir(), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rec := &recordingHandler{}
		policy, _ := ParseAllowList("")
		w := NewWorker(st, NewSender(policy, SenderOptions{}), slog.New(rec), WorkerOptions{Workers: 2})
		if err := w.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the first claim went through; the dispatcher sleeps a poll interval
		st.Close()
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		got := rec.values("claiming deliveries failed; backing off", "retry_in")
		want := []string{"1s", "2s", "4s", "8s", "16s", "32s", "1m0s", "1m0s", "1m0s", "1m0s", "1m0s", "1m0s", "1m0s", "1m0s", "1m0s"}
		if !slices.Equal(got, want) {
			t.Errorf("back-off log lines in 10 minutes (retry_in) = %v (%d), want %v", got, len(got), want)
		}
		// Wake-ups during a back-off (a queued job elsewhere) do not claim.
		for range 100 {
			w.Notify()
			synctest.Wait()
		}
		if n := len(rec.values("claiming deliveries failed; backing off", "retry_in")); n != len(want) {
			t.Errorf("after 100 wake-ups: %d back-off lines, want still %d", n, len(want))
		}
		if err := w.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
