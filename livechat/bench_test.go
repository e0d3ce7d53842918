package livechat

import (
	"context"
	"testing"
)

func BenchmarkDetect(b *testing.B) {
	d := NewDetector(nil, nil)
	text := "Hello, I need help with my account: the invoice of last month shows a charge I do not recognise, can you explain it?"
	b.ReportAllocs()
	for b.Loop() {
		d.Detect(text)
	}
}

// BenchmarkRouteNoSession is the cost the engine pays on every ordinary
// message: one bbolt read and the phrase check.
func BenchmarkRouteNoSession(b *testing.B) {
	f := newFixture(b, Config{})
	r := req("Hello, I need help with my account: the invoice of last month shows a charge I do not recognise")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := f.m.Route(context.Background(), r); ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
