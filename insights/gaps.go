package insights

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// Gap reading bounds.
const (
	// DefaultGapWindow is how far back the gaps look by default.
	DefaultGapWindow = 30 * 24 * time.Hour
	// maxGapQuestions bounds the questions one reading clusters (the
	// newest): clustering is quadratic in the worst case.
	maxGapQuestions = 1000
	maxExamples     = 5
	maxClusterRefs  = 20
)

// Cluster is a group of similar questions the knowledge base did not
// serve: the article to write, or the curated answer to add.
type Cluster struct {
	Count          int            `json:"count"`
	Representative string         `json:"representative"` // the question nearest the group's centre
	LastSeen       time.Time      `json:"last_seen"`
	Reasons        map[string]int `json:"reasons"`  // no_answer, low_confidence, not_helpful
	Examples       []string       `json:"examples"` // other wordings, up to 5
	// Conversations are the newest conversations behind it (up to 20).
	Conversations []GapRef `json:"conversations"`
}

// GapRef names one question of a cluster.
type GapRef struct {
	ConfigID       uint64 `json:"config_id,omitempty"`
	WidgetID       uint64 `json:"widget_id,omitempty"`
	ConversationID string `json:"conversation_id"`
	QuestionID     uint64 `json:"question_id"`
}

// cluster is a Cluster being built: the sum of its members' vectors is
// its direction.
type cluster struct {
	sum     []float64
	norm2   float64 // |sum|^2
	members []int   // indexes into the questions
}

func newCluster(vecs [][]float32, members []int) *cluster {
	c := &cluster{sum: make([]float64, len(vecs[0])), members: members}
	for _, i := range members {
		for j, x := range vecs[i] {
			c.sum[j] += float64(x)
		}
	}
	for _, x := range c.sum {
		c.norm2 += x * x
	}
	return c
}

func (c *cluster) dot(v []float32) float64 {
	var d float64
	for i, x := range c.sum {
		d += x * float64(v[i])
	}
	return d
}

// similarity is the cosine of v and the cluster's direction; without
// v's own share when v is a member (vectors are unit length).
func (c *cluster) similarity(v []float32, member bool) float64 {
	d, n2 := c.dot(v), c.norm2
	if member {
		d, n2 = d-1, n2-2*d+1
	}
	if n2 <= 1e-12 {
		return 0
	}
	return d / math.Sqrt(n2)
}

// refineRounds bounds the rounds of merging and reassigning after the
// first pass.
const refineRounds = 3

// ClusterGaps groups questions by the similarity of their vectors. A first
// pass takes the questions oldest first: each joins the group whose
// direction is nearest when the cosine similarity reaches threshold, else
// starts a new group. As that depends on the order (an early question
// sharing one word with a group's first member joins it), rounds follow
// that merge groups whose directions reach threshold and move each
// question to the group nearest without its own share, or alone. The
// groups come biggest first, then most recently seen.
func ClusterGaps(ctx context.Context, emb embed.Embedder, qs []store.GapQuestion, threshold float64) ([]Cluster, error) {
	qs = slices.Clone(qs)
	slices.SortStableFunc(qs, func(a, b store.GapQuestion) int { return a.At.Compare(b.At) })
	texts := make([]string, 0, len(qs))
	kept := qs[:0]
	for _, q := range qs {
		if strings.TrimSpace(q.Question) != "" {
			texts = append(texts, q.Question)
			kept = append(kept, q)
		}
	}
	qs = kept
	if len(qs) == 0 {
		return []Cluster{}, nil
	}
	vecs, err := emb.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("embed gap questions: %w", err)
	}
	var groups []*cluster
	for i, v := range vecs {
		best, bestSim := -1, threshold
		for g, c := range groups {
			if s := c.similarity(v, false); s >= bestSim {
				best, bestSim = g, s
			}
		}
		if best < 0 {
			groups = append(groups, newCluster(vecs, []int{i}))
			continue
		}
		c := groups[best]
		c.members = append(c.members, i)
		for j, x := range v {
			c.sum[j] += float64(x)
		}
		c.norm2 = 0
		for _, x := range c.sum {
			c.norm2 += x * x
		}
	}
	for range refineRounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var changed bool
		groups, changed = refine(groups, vecs, threshold)
		if !changed {
			break
		}
	}
	out := make([]Cluster, 0, len(groups))
	for _, c := range groups {
		out = append(out, c.result(qs, vecs))
	}
	slices.SortStableFunc(out, func(a, b Cluster) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return b.LastSeen.Compare(a.LastSeen)
	})
	return out, nil
}

// refine merges groups whose directions are within threshold (biggest
// first), then moves each question to the group nearest it without its
// own share, or alone when none reaches threshold.
func refine(groups []*cluster, vecs [][]float32, threshold float64) ([]*cluster, bool) {
	slices.SortStableFunc(groups, func(a, b *cluster) int { return len(b.members) - len(a.members) })
	changed := false
	var merged []*cluster
	for _, c := range groups {
		into := -1
		for m, g := range merged {
			if cosine(g, c) >= threshold {
				into = m
				break
			}
		}
		if into < 0 {
			merged = append(merged, c)
			continue
		}
		changed = true
		merged[into] = newCluster(vecs, append(merged[into].members, c.members...))
	}
	owner := make([]int, len(vecs))
	for g, c := range merged {
		for _, i := range c.members {
			owner[i] = g
		}
	}
	assign := make([][]int, len(merged))
	var alone [][]int
	for i, v := range vecs {
		best, bestSim := -1, threshold
		for g, c := range merged {
			if s := c.similarity(v, g == owner[i]); s >= bestSim {
				best, bestSim = g, s
			}
		}
		switch {
		case best >= 0:
			assign[best] = append(assign[best], i)
		case len(merged[owner[i]].members) == 1:
			assign[owner[i]] = append(assign[owner[i]], i) // alone already
		default:
			alone = append(alone, []int{i})
		}
		if best != owner[i] {
			changed = true
		}
	}
	out := make([]*cluster, 0, len(merged)+len(alone))
	for _, members := range append(assign, alone...) {
		if len(members) > 0 {
			out = append(out, newCluster(vecs, members))
		}
	}
	return out, changed
}

// cosine is the cosine of two groups' directions.
func cosine(a, b *cluster) float64 {
	if a.norm2 <= 1e-12 || b.norm2 <= 1e-12 {
		return 0
	}
	var d float64
	for i, x := range a.sum {
		d += x * b.sum[i]
	}
	return d / math.Sqrt(a.norm2*b.norm2)
}

// result describes a finished group: its representative is the member
// nearest its direction (the newest of equals).
func (c *cluster) result(qs []store.GapQuestion, vecs [][]float32) Cluster {
	out := Cluster{Count: len(c.members), Reasons: map[string]int{}, Examples: []string{}, Conversations: []GapRef{}}
	rep, repSim := -1, -2.0
	seen := map[string]bool{}
	for k := len(c.members) - 1; k >= 0; k-- { // newest first
		i := c.members[k]
		q := qs[i]
		out.Reasons[q.Reason]++
		if q.At.After(out.LastSeen) {
			out.LastSeen = q.At
		}
		if s := c.similarity(vecs[i], false); s > repSim+1e-6 { // float32 vectors: equals within rounding
			rep, repSim = i, s
		}
		if len(out.Conversations) < maxClusterRefs {
			out.Conversations = append(out.Conversations, GapRef{ConfigID: q.ConfigID, WidgetID: q.WidgetID,
				ConversationID: q.ConversationID, QuestionID: q.QuestionID})
		}
	}
	out.Representative = qs[rep].Question
	seen[strings.ToLower(out.Representative)] = true
	for k := len(c.members) - 1; k >= 0 && len(out.Examples) < maxExamples; k-- {
		text := qs[c.members[k]].Question
		if !seen[strings.ToLower(text)] {
			seen[strings.ToLower(text)] = true
			out.Examples = append(out.Examples, text)
		}
	}
	return out
}

// Gaps clusters the gap questions of the window before now (the newest
// maxGapQuestions of them) of the scope.
func (s *Service) Gaps(ctx context.Context, since time.Time, sc store.Scope) ([]Cluster, error) {
	qs, err := s.st.GapQuestions(since, maxGapQuestions)
	if err != nil {
		return nil, err
	}
	if sc != (store.Scope{}) {
		kept := qs[:0]
		for _, q := range qs {
			if q.ConfigID == sc.ConfigID && q.WidgetID == sc.WidgetID {
				kept = append(kept, q)
			}
		}
		qs = kept
	}
	return ClusterGaps(ctx, s.opts.Embedder, qs, s.opts.GapSimilarity)
}
