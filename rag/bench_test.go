package rag

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	chromem "github.com/philippgille/chromem-go"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// Synthetic corpora for benchmarks only: words drawn from a Zipf
// distribution over a 30,000-word vocabulary, sentences of 8 to 20 words,
// chunks of about 600 characters (one paragraph each, under the chunk size).

func benchVocab() []string {
	r := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyz"
	seen := map[string]bool{}
	var out []string
	for len(out) < 30000 {
		n := 3 + r.IntN(8)
		b := make([]byte, n)
		for i := range b {
			b[i] = letters[r.IntN(len(letters))]
		}
		if w := string(b); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

type textGen struct {
	r     *rand.Rand
	zipf  *rand.Zipf
	vocab []string
}

func newTextGen(seed uint64) *textGen {
	r := rand.New(rand.NewPCG(seed, 7))
	v := benchVocab()
	return &textGen{r: r, zipf: rand.NewZipf(r, 1.1, 2, uint64(len(v)-1)), vocab: v}
}

func (g *textGen) paragraph(chars int) string {
	var sb strings.Builder
	for sb.Len() < chars {
		n := 8 + g.r.IntN(13)
		for i := 0; i < n; i++ {
			w := g.vocab[g.zipf.Uint64()]
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			} else {
				sb.WriteByte(' ')
			}
			sb.WriteString(w)
		}
		sb.WriteString(". ")
	}
	return strings.TrimSpace(sb.String())
}

func (g *textGen) query() string {
	n := 2 + g.r.IntN(4)
	words := make([]string, n)
	for i := range words {
		words[i] = g.vocab[g.zipf.Uint64()%5000+20] // mid-frequency words
	}
	return strings.Join(words, " ")
}

// buildBenchIndex writes n chunks (100 per document) into a new store in dir.
func buildBenchIndex(b *testing.B, dir string, n int) {
	b.Helper()
	st, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ix, err := Open(context.Background(), st, embed.NewBuiltin(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	g := newTextGen(42)
	const perDoc = 100
	for d := 0; d*perDoc < n; d++ {
		sec := make([]Section, 0, perDoc)
		for c := 0; c < perDoc && d*perDoc+c < n; c++ {
			sec = append(sec, Section{Headings: []string{fmt.Sprintf("Section %d", c)}, Paragraphs: []string{g.paragraph(600)}})
		}
		_, err := ix.Put(context.Background(), DocInput{Path: fmt.Sprintf("doc%d.md", d), Source: fmt.Sprintf("doc%d.md", d),
			Content: []byte(fmt.Sprint(d)), Parsed: Parsed{Title: "Doc", Sections: sec}})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// benchDir is a store with n chunks, built once per process run and kept
// in CHATBOT_BENCH_DIR when set (so -count reruns reuse it).
func benchDir(b *testing.B, n int) string {
	base := os.Getenv("CHATBOT_BENCH_DIR")
	if base == "" {
		base = b.TempDir()
	}
	dir := filepath.Join(base, fmt.Sprintf("chunks-%d", n))
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err == nil {
		return dir
	}
	start := time.Now()
	buildBenchIndex(b, dir, n)
	b.Logf("built %d chunks in %v", n, time.Since(start))
	return dir
}

func percentile(ds []time.Duration, p float64) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// BenchmarkSearch: hybrid query latency, p50 and p99 over the iterations.
func BenchmarkSearch(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("chunks=%d", n), func(b *testing.B) {
			dir := benchDir(b, n)
			st, err := store.Open(dir, store.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ix, err := Open(context.Background(), st, embed.NewBuiltin(), Options{MinScore: -1})
			if err != nil {
				b.Fatal(err)
			}
			g := newTextGen(99)
			var ds []time.Duration
			b.ResetTimer()
			for b.Loop() {
				q := g.query()
				t0 := time.Now()
				ps, err := ix.Search(context.Background(), q, 5)
				ds = append(ds, time.Since(t0))
				if err != nil || len(ps) == 0 {
					b.Fatalf("%q: %v, %d", q, err, len(ps))
				}
			}
			b.ReportMetric(float64(percentile(ds, 0.50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(ds, 0.99).Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkOpen100k: the time serve takes to load a 100,000-chunk index
// from bbolt, the heap it holds and what it maps outside the heap.
func BenchmarkOpen100k(b *testing.B) {
	dir := benchDir(b, 100000)
	var fi os.FileInfo
	fi, _ = os.Stat(filepath.Join(dir, store.FileName))
	b.ReportMetric(float64(fi.Size())/(1<<20), "db-MB")
	first := true
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		st, err := store.Open(dir, store.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		ix, err := Open(context.Background(), st, embed.NewBuiltin(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if first { // later rounds would count the index a background calibration still holds
			first = false
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "heap-MB")
			b.ReportMetric(float64(ix.vecs.offHeapBytes())/(1<<20), "offheap-MB")
		}
		if ix.Len() != 100000 {
			b.Fatalf("%d chunks", ix.Len())
		}
		runtime.KeepAlive(ix)
		st.Close()
		b.StartTimer()
	}
}

// BenchmarkIngest: `chatbot ingest` of a folder of Markdown files with the
// built-in embedder, fresh store each iteration; MB/s from SetBytes.
func BenchmarkIngest(b *testing.B) {
	src := b.TempDir()
	g := newTextGen(5)
	var total int64
	for f := 0; f < 200; f++ {
		var sb strings.Builder
		fmt.Fprintf(&sb, "# Document %d\n\n", f)
		for s := 0; s < 10; s++ {
			fmt.Fprintf(&sb, "## Part %d\n\n%s\n\n%s\n\n", s, g.paragraph(500), g.paragraph(700))
		}
		total += int64(sb.Len())
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("f%03d.md", f)), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(total)
	for b.Loop() {
		b.StopTimer()
		st, err := store.Open(b.TempDir(), store.Options{NoSync: os.Getenv("NOSYNC") != ""})
		if err != nil {
			b.Fatal(err)
		}
		ix, err := Open(context.Background(), st, embed.NewBuiltin(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sum, err := ix.Ingest(context.Background(), []string{src}, IngestOptions{})
		if err != nil || sum.Added != 200 {
			b.Fatalf("%+v, %v", sum, err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}

// BenchmarkChromemPersistentOpen100k measures the alternative we did not
// choose: chromem-go's own persistence (one gob file per document), built
// from the same 100,000 chunks, reopened with NewPersistentDB. Lexical
// terms are not included, so it only gives the vector half its load time.
func BenchmarkChromemPersistentOpen100k(b *testing.B) {
	dir := benchDir(b, 100000)
	st, err := store.Open(dir, store.Options{NoSync: true, ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	pdir := filepath.Join(b.TempDir(), "chromem")
	db, err := chromem.NewPersistentDB(pdir, false)
	if err != nil {
		b.Fatal(err)
	}
	noEmbed := func(context.Context, string) ([]float32, error) { return nil, fmt.Errorf("not used") }
	col, err := db.CreateCollection("knowledge", nil, noEmbed)
	if err != nil {
		b.Fatal(err)
	}
	var batch []chromem.Document
	start := time.Now()
	err = st.EachChunk(func(c store.Chunk) error {
		batch = append(batch, chromem.Document{ID: chunkID(c.DocID, c.Seq), Embedding: c.Vector, Content: c.Text,
			Metadata: map[string]string{"source": c.Source, "heading": c.Heading, "title": c.Title}})
		return nil
	})
	st.Close()
	if err != nil {
		b.Fatal(err)
	}
	if err := col.AddDocuments(context.Background(), batch, 2); err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote %d chromem-go files in %v", len(batch), time.Since(start))
	batch = nil
	b.ResetTimer()
	for b.Loop() {
		db2, err := chromem.NewPersistentDB(pdir, false)
		if err != nil {
			b.Fatal(err)
		}
		// Two ids whose 32-bit file-name hashes collide overwrite each
		// other's file: count what the reopened database lost.
		n := db2.GetCollection("knowledge", noEmbed).Count()
		b.ReportMetric(float64(100000-n), "lost-docs")
	}
}

// BenchmarkSearchANN: hybrid query latency over the 100,000-chunk bench
// index with the approximate index forced on (and, for the crossover, at
// 10,000 and 30,000), and the tie-aware recall@10 of its vector search
// against the exact scan for the same question vectors.
func BenchmarkSearchANN(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		for _, exactBelow := range []int{-1, 1 << 30} {
			name := fmt.Sprintf("chunks=%d/ann", n)
			if exactBelow > 0 {
				name = fmt.Sprintf("chunks=%d/exact", n)
			}
			b.Run(name, func(b *testing.B) {
				dir := benchDir(b, n)
				st, err := store.Open(dir, store.Options{NoSync: true})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				t0 := time.Now()
				ix, err := Open(context.Background(), st, embed.NewBuiltin(), Options{MinScore: -1, ExactBelow: exactBelow})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(t0).Seconds(), "open-s")
				g := newTextGen(99)
				var ds []time.Duration
				var recall float64
				b.ResetTimer()
				for b.Loop() {
					q := g.query()
					t0 := time.Now()
					ps, err := ix.Search(context.Background(), q, 5)
					ds = append(ds, time.Since(t0))
					if err != nil || len(ps) == 0 {
						b.Fatalf("%q: %v, %d", q, err, len(ps))
					}
					b.StopTimer()
					recall += vectorRecall(b, ix, q)
					b.StartTimer()
				}
				b.ReportMetric(float64(percentile(ds, 0.50).Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(percentile(ds, 0.99).Microseconds())/1000, "p99-ms")
				b.ReportMetric(recall/float64(len(ds)), "recall@10")
			})
		}
	}
}

// vectorRecall is the tie-aware recall@10 of the index's vector search
// for question q against the exact scan.
func vectorRecall(b testing.TB, ix *Index, q string) float64 {
	r, err := ix.MeasureVectorRecall(context.Background(), []string{q})
	if err != nil {
		b.Fatal(err)
	}
	return r.AtTen
}
