package embed

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
)

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func cos(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestBuiltinDeterministicAndNormalised(t *testing.T) {
	b := NewBuiltin()
	if got := b.Info(); got != (Info{Provider: "builtin", Model: "hash-v3", Dimension: 512}) {
		t.Fatalf("Info = %+v", got)
	}
	texts := []string{"How do I reset my password?", "Refunds take five business days.", "???", "ünïcödé 東京"}
	v1, err := b.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := NewBuiltin().Embed(context.Background(), texts)
	if !reflect.DeepEqual(v1, v2) {
		t.Fatal("two embedders disagree on the same texts")
	}
	for i, v := range v1 {
		if len(v) != 512 || math.Abs(norm(v)-1) > 1e-5 {
			t.Errorf("text %d: len %d norm %f", i, len(v), norm(v))
		}
	}
}

func TestBuiltinSimilarity(t *testing.T) {
	vs, err := NewBuiltin().Embed(context.Background(), []string{
		"reset password",
		"To reset your password, click Forgot password on the login page.",
		"We ship parcels worldwide with DHL.",
		"resetting passwords",
	})
	if err != nil {
		t.Fatal(err)
	}
	if rel, unrel := cos(vs[0], vs[1]), cos(vs[0], vs[2]); rel <= unrel+0.2 {
		t.Errorf("related %.3f not clearly above unrelated %.3f", rel, unrel)
	}
	if c := cos(vs[0], vs[3]); c < 0.6 {
		t.Errorf("inflected forms: cosine %.3f, want >= 0.6 (stemming and character n-grams)", c)
	}
}

func TestBuiltinRejectsEmptyText(t *testing.T) {
	for _, text := range []string{"", "   \n\t "} {
		_, err := NewBuiltin().Embed(context.Background(), []string{"fine", text})
		if !errors.Is(err, ErrEmptyText) {
			t.Errorf("Embed(%q) = %v, want ErrEmptyText", text, err)
		}
	}
}

func TestBuiltinEmbedQueryWeights(t *testing.T) {
	b := NewBuiltin()
	plain, _ := b.EmbedQuery(context.Background(), "refund policy", nil)
	same, _ := b.Embed(context.Background(), []string{"refund policy"})
	if !reflect.DeepEqual(plain, same[0]) {
		t.Fatal("EmbedQuery with nil weight differs from Embed")
	}
	refund, _ := b.Embed(context.Background(), []string{"refund"})
	weighted, _ := b.EmbedQuery(context.Background(), "refund policy", func(stem string) float64 {
		if stem == "refund" {
			return 10
		}
		return 1
	})
	if cos(weighted, refund[0]) <= cos(plain, refund[0]) {
		t.Fatal("a heavier word does not pull the query vector towards it")
	}
}

func TestTerms(t *testing.T) {
	got := Terms("What is the Refund policy for annual plans? Refunds!")
	want := []string{"refund", "polici", "annual", "plan", "refund"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Terms = %q, want %q", got, want)
	}
}

func BenchmarkBuiltinEmbed(b *testing.B) {
	text := "Refunds are issued to the original payment method within 5 business days. To request a refund, open Settings, Billing and click Request refund. Refunds are not available for annual plans after 30 days. "
	text += text + text + text // ~800 bytes, a typical chunk
	e := NewBuiltin()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := e.Embed(context.Background(), []string{text}); err != nil {
			b.Fatal(err)
		}
	}
}
