package insights

import (
	"fmt"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
)

func TestOutcomeAnsweredIsOpenThenResolvedAfterTheQuietPeriod(t *testing.T) {
	f := newFixture(t)
	f.say("c1", "how do I reset my password?")
	if got := f.outcome("c1"); got != store.OutcomeOpen {
		t.Fatalf("right after the answer: %q, want open", got)
	}
	want := store.DayCounts{Conversations: 1, Answered: 1, Turns: 1, Open: 1}
	if got := f.day(start); got != want {
		t.Fatalf("day counts: %+v, want %+v", got, want)
	}
	f.clk.Add(24*time.Hour - time.Second)
	if got := f.outcome("c1"); got != store.OutcomeOpen {
		t.Fatalf("a second before the quiet period ends: %q, want open", got)
	}
	f.clk.Add(time.Second)
	if got := f.outcome("c1"); got != store.OutcomeResolved {
		t.Fatalf("after the quiet period: %q, want resolved_by_bot", got)
	}
	want = store.DayCounts{Conversations: 1, Answered: 1, Turns: 1, Resolved: 1}
	if got := f.day(start); got != want {
		t.Fatalf("day counts: %+v, want %+v", got, want)
	}
}

func TestOutcomeAnsweredThenHandedOffStaysHandedOff(t *testing.T) {
	f := newFixture(t)
	f.say("c1", "how do I reset my password?")
	f.clk.Add(time.Hour)
	f.say("c1", "let me talk to a human")
	if got := f.outcome("c1"); got != store.OutcomeHandedOff {
		t.Fatalf("after the hand-off: %q, want handed_off", got)
	}
	f.clk.Add(time.Hour)
	f.say("c1", "and my invoice?") // answered again: the hand-off stays the outcome
	f.clk.Add(48 * time.Hour)
	if got := f.outcome("c1"); got != store.OutcomeHandedOff {
		t.Fatalf("after the quiet period: %q, want handed_off", got)
	}
	want := store.DayCounts{Conversations: 1, HandedOff: 1, Turns: 3}
	if got := f.day(start); got != want {
		t.Fatalf("day counts: %+v, want %+v", got, want)
	}
}

func TestOutcomeNoAnswerIsUnansweredUntilAnAnswerFollows(t *testing.T) {
	f := newFixture(t)
	f.say("c1", "can I pay with paypal?")
	if got := f.outcome("c1"); got != store.OutcomeUnanswered {
		t.Fatalf("after no answer: %q, want unanswered", got)
	}
	f.clk.Add(48 * time.Hour)
	if got := f.outcome("c1"); got != store.OutcomeUnanswered {
		t.Fatalf("after the quiet period: %q, want unanswered", got)
	}
	want := store.DayCounts{Conversations: 1, Unanswered: 1, Turns: 1}
	if got := f.day(start); got != want {
		t.Fatalf("day counts: %+v, want %+v", got, want)
	}

	f.say("c2", "can I pay with paypal?")
	f.clk.Add(time.Minute)
	f.say("c2", "how do I pay by card?")
	if got := f.outcome("c2"); got != store.OutcomeOpen {
		t.Fatalf("no answer then an answer: %q, want open", got)
	}
}

func TestOutcomeNegativeFeedbackWithinTheQuietPeriod(t *testing.T) {
	f := newFixture(t)
	out := f.say("c1", "how do I reset my password?")
	f.clk.Add(time.Hour)
	f.rate(out.ResponseID(), store.RatingNotHelpful, "u1")
	if got := f.outcome("c1"); got != store.OutcomeNotHelpful {
		t.Fatalf("after a not helpful rating: %q, want not_helpful", got)
	}
	f.clk.Add(48 * time.Hour)
	if got := f.outcome("c1"); got != store.OutcomeNotHelpful {
		t.Fatalf("after the quiet period: %q, want not_helpful", got)
	}
	want := store.DayCounts{Conversations: 1, NotHelpful: 1, Turns: 1, RatedNot: 1}
	if got := f.day(start); got != want {
		t.Fatalf("day counts: %+v, want %+v", got, want)
	}

	// The rater changes their mind: helpful replaces not helpful.
	f2 := newFixture(t)
	out = f2.say("c1", "how do I reset my password?")
	f2.rate(out.ResponseID(), store.RatingNotHelpful, "u1")
	f2.rate(out.ResponseID(), store.RatingHelpful, "u1")
	if got := f2.outcome("c1"); got != store.OutcomeOpen {
		t.Fatalf("helpful replacing not helpful: %q, want open", got)
	}
	fb, err := f2.st.FeedbackOn(out.ResponseID())
	if err != nil || len(fb) != 1 || fb[0].Rating != store.RatingHelpful {
		t.Fatalf("ratings of the answer: %+v, %v; want one, helpful", fb, err)
	}
	want = store.DayCounts{Conversations: 1, Answered: 1, Turns: 1, RatedHelpful: 1, Open: 1}
	if got := f2.day(start); got != want {
		t.Fatalf("day counts: %+v, want %+v", got, want)
	}
}

func TestOutcomeNegativeFeedbackAfterTheQuietPeriodLeavesItResolved(t *testing.T) {
	f := newFixture(t)
	out := f.say("c1", "how do I reset my password?")
	f.clk.Add(25 * time.Hour)
	f.rate(out.ResponseID(), store.RatingNotHelpful, "u1")
	if got := f.outcome("c1"); got != store.OutcomeResolved {
		t.Fatalf("a late rating: %q, want resolved_by_bot", got)
	}
	want := store.DayCounts{Conversations: 1, Answered: 1, Turns: 1, Resolved: 1}
	if got := f.day(start); got != want {
		t.Fatalf("first day: %+v, want %+v", got, want)
	}
	if got := f.day(f.clk.Now()); got != (store.DayCounts{RatedNot: 1}) {
		t.Fatalf("the rating's day: %+v, want one not helpful rating", got)
	}
}

func TestOutcomeUserComingBackAfterTheQuietPeriodStartsANewEpisode(t *testing.T) {
	f := newFixture(t)
	f.say("c1", "how do I reset my password?")
	f.clk.Add(30 * time.Hour)
	f.say("c1", "let me talk to a human")
	if got := f.outcome("c1"); got != store.OutcomeHandedOff {
		t.Fatalf("the new episode: %q, want handed_off", got)
	}
	if got, want := f.day(start), (store.DayCounts{Conversations: 1, Answered: 1, Turns: 1, Resolved: 1}); got != want {
		t.Fatalf("first day keeps its resolved episode: %+v, want %+v", got, want)
	}
	if got, want := f.day(f.clk.Now()), (store.DayCounts{Conversations: 1, HandedOff: 1, Turns: 1}); got != want {
		t.Fatalf("second day: %+v, want %+v", got, want)
	}
	c, err := f.st.ConvOutcomeOf(ref("c1"))
	if err != nil || c.Episode != 2 || c.Turns != 1 || c.Day != "2026-03-03" {
		t.Fatalf("episode: %+v, %v; want the second, of one turn, on 2026-03-03", c, err)
	}
}

func TestOutcomeRetryIsNotCountedTwice(t *testing.T) {
	f := newFixture(t)
	in := func() {
		t.Helper()
		if _, err := f.turns.Handle(t.Context(), inbound("c1", "how do I reset my password?", "m-1")); err != nil {
			t.Fatal(err)
		}
	}
	in()
	in()
	if got, want := f.day(start), (store.DayCounts{Conversations: 1, Answered: 1, Turns: 1, Open: 1}); got != want {
		t.Fatalf("day counts: %+v, want %+v", got, want)
	}
}

func TestGapQuestionsRecordedForNoAnswerAndWeakAnswers(t *testing.T) {
	f := newFixture(t)
	f.say("c1", "can I pay with paypal?")
	weak := f.say("c2", "weak question about shipping").ResponseID()
	good := f.say("c3", "how do I reset my password?").ResponseID()
	// A rating adds the question of a good answer; the weak one keeps its reason.
	f.rate(weak, store.RatingNotHelpful, "u1")
	f.rate(good, store.RatingNotHelpful, "u1")
	gaps, err := f.st.GapQuestions(start, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, g := range gaps {
		got[g.Question] = g.Reason
	}
	want := map[string]string{"can I pay with paypal?": "no_answer", "weak question about shipping": "low_confidence",
		"how do I reset my password?": "not_helpful"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("gap questions: %v, want %v", got, want)
	}
}
