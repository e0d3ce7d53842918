package insights

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// gapSet is the fixed set: three groups of paraphrases and unrelated
// questions that must each stay alone.
var gapSet = [][]string{
	{"Can I pay with PayPal?", "Do you accept PayPal payments?", "paypal payment possible?", "How do I pay using PayPal", "Is PayPal accepted at checkout?"},
	{"How do I get a refund?", "I want a refund for my order", "Can I get a refund for a damaged item?", "refund please, how long does a refund take"},
	{"Do you ship to Canada?", "shipping to Canada", "Can you ship my order to Canada?"},
	{"What are your opening hours?"},
	{"Is there a student discount?"},
	{"How do I delete my account?"},
	{"Can I change the color of my invoice logo?"},
	{"How do I pay by bank transfer?"},
	{"Where can I track my order?"},
}

func gapQuestions() []store.GapQuestion {
	var qs []store.GapQuestion
	at := start
	// Interleave the groups, as questions arrive.
	for i := 0; ; i++ {
		added := false
		for g, group := range gapSet {
			if i < len(group) {
				at = at.Add(time.Minute)
				qs = append(qs, store.GapQuestion{QuestionID: uint64(len(qs) + 1), ConversationID: fmt.Sprintf("c%d-%d", g, i),
					Question: group[i], Reason: "no_answer", At: at})
				added = true
			}
		}
		if !added {
			return qs
		}
	}
}

func TestClusterGapsGroupsParaphrasesAndKeepsUnrelatedApart(t *testing.T) {
	// The default and either side of it: the grouping is not on a knife's edge.
	for _, threshold := range []float64{DefaultGapSimilarity - 0.05, DefaultGapSimilarity, DefaultGapSimilarity + 0.05} {
		t.Run(fmt.Sprint(threshold), func(t *testing.T) { checkGapClusters(t, threshold) })
	}
}

func checkGapClusters(t *testing.T, threshold float64) {
	clusters, err := ClusterGaps(t.Context(), embed.NewBuiltin(), gapQuestions(), threshold)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, c := range clusters {
		members := append([]string{c.Representative}, c.Examples...)
		slices.Sort(members)
		got = append(got, members)
	}
	var want [][]string
	for _, g := range gapSet {
		w := slices.Clone(g)
		slices.Sort(w)
		want = append(want, w)
	}
	// Groups of one have no order among themselves but their last seen.
	slices.SortFunc(got, func(a, b []string) int { return compareGroups(a, b) })
	slices.SortFunc(want, func(a, b []string) int { return compareGroups(a, b) })
	if fmt.Sprint(got) != fmt.Sprint(want) {
		for _, c := range clusters {
			t.Logf("%d %q %q", c.Count, c.Representative, c.Examples)
		}
		t.Fatalf("clusters:\n%v\nwant\n%v", got, want)
	}
	if c := clusters[0]; c.Count != 5 || c.Reasons["no_answer"] != 5 || !c.LastSeen.Equal(start.Add(18*time.Minute)) || len(c.Conversations) != 5 {
		t.Fatalf("the PayPal cluster: %+v", c)
	}
}

func compareGroups(a, b []string) int {
	if len(a) != len(b) {
		return len(b) - len(a)
	}
	return slices.Compare(a, b)
}
