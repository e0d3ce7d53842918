package rag

import (
	"slices"
	"testing"
)

// TestCutTies pins how the feedback set is cut at n when the cut falls
// inside an exact lexical tie: never by insertion order.
func TestCutTies(t *testing.T) {
	mk := func(lex ...float64) []candidate {
		out := make([]candidate, len(lex))
		for i, l := range lex {
			out[i] = candidate{slot: i, lex: l}
		}
		return out
	}
	slots := func(cs []candidate) []int {
		out := []int{}
		for _, c := range cs {
			out = append(out, c.slot)
		}
		return out
	}
	for _, c := range []struct {
		name string
		lex  []float64
		want []int
	}{
		{"fewer than n", []float64{0.9, 0.8}, []int{0, 1}},
		{"no tie at the cut", []float64{0.9, 0.8, 0.7, 0.6, 0.6}, []int{0, 1, 2}},
		{"small tie across the cut is kept whole", []float64{0.9, 0.8, 0.7, 0.7}, []int{0, 1, 2, 3}},
		{"large tie across the cut is dropped whole", []float64{0.9, 0.7, 0.7, 0.7, 0.7}, []int{0}},
		{"all tied, more than n: no feedback", []float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, []int{}},
		{"tie of exactly n across the cut is kept", []float64{0.9, 0.7, 0.7, 0.7, 0.6}, []int{0, 1, 2, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := slots(cutTies(mk(c.lex...), 3)); !slices.Equal(got, c.want) {
				t.Errorf("cutTies(%v, 3) = slots %v, want %v", c.lex, got, c.want)
			}
		})
	}
}
