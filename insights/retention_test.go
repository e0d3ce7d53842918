package insights

import (
	"testing"
	"time"
)

func TestStartRetentionSweepsAtStart(t *testing.T) {
	f := newFixture(t)
	old := f.say("c1", "my address is 12 Elm Street")
	f.clk.Add(100 * 24 * time.Hour)
	recent := f.say("c2", "my address is 7 Oak Road")
	// The first sweep runs before the loop looks at its context: stopping
	// at once waits for exactly that one.
	if err := f.ins.StartRetention(90*24*time.Hour, time.Hour)(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   uint64
		want string
	}{{old.Message.ID, ""}, {old.ResponseID(), ""}, {recent.Message.ID, "my address is 7 Oak Road"}, {recent.ResponseID(), "Here is how."}} {
		m, err := f.st.Message(c.id)
		if err != nil || m.Text != c.want {
			t.Errorf("message %d after the sweep: %q, %v; want %q", c.id, m.Text, err, c.want)
		}
	}
	if stop := f.ins.StartRetention(0, time.Hour); stop(t.Context()) != nil {
		t.Fatal("a zero retention's stop failed")
	}
}
