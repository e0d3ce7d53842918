package rag

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/bench"
	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// BenchmarkSearchKB: the knowledge base `chatbot bench` generates
// (templated support articles, many ties), CHATBOT_BENCH_KB_CHUNKS chunks
// (default 100,000), ingested once into CHATBOT_BENCH_DIR; the API's
// questions searched with the approximate index forced on and with the
// exact scan, with the tie-aware recall@10 of the vector search.
//
//	CHATBOT_BENCH_DIR=/tmp/benchkb go test ./rag -run XXX -bench SearchKB -benchtime 300x -timeout 60m
func BenchmarkSearchKB(b *testing.B) {
	n := 100000
	if v := os.Getenv("CHATBOT_BENCH_KB_CHUNKS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("CHATBOT_BENCH_KB_CHUNKS: %v", err)
		}
	}
	base := os.Getenv("CHATBOT_BENCH_DIR")
	if base == "" {
		base = b.TempDir()
	}
	dir := filepath.Join(base, fmt.Sprintf("kb-%d", n))
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
		t0 := time.Now()
		info, err := bench.GenerateKB(filepath.Join(dir, "docs"), n, 1)
		if err != nil {
			b.Fatal(err)
		}
		st, err := store.Open(dir, store.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		ix, err := Open(context.Background(), st, embed.NewBuiltin(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ix.Ingest(context.Background(), []string{info.Dir}, IngestOptions{}); err != nil {
			b.Fatal(err)
		}
		st.Close()
		b.Logf("generated and ingested %d chunks in %v", n, time.Since(t0))
	}
	// ann-memory: the float32 vectors held in memory instead of read from
	// the snapshot file (vectors_file.go), for what the reads cost.
	for _, v := range []struct {
		name               string
		exactBelow, inFile int
	}{{"ann", -1, 0}, {"ann-memory", -1, 1 << 50}, {"exact", 1 << 30, 0}} {
		b.Run(v.name, func(b *testing.B) {
			st, err := store.Open(dir, store.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			t0 := time.Now()
			ix, err := Open(context.Background(), st, embed.NewBuiltin(), Options{MinScore: -1, ExactBelow: v.exactBelow, vectorsInFileFrom: v.inFile})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), "open-s")
			defer ix.Close() // releases its memory before the next variant opens
			qs := bench.NewQuestions(1)
			var ds []time.Duration
			var recall float64
			i := 0
			b.ResetTimer()
			for b.Loop() {
				q := qs.At(i)
				i++
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

// BenchmarkIVFGrid: recall@10 (tie-aware) and the vector search's time
// over the BenchmarkSearchKB knowledge base for IVF list counts and probe
// shares: how the defaults in ann.go were chosen.
func BenchmarkIVFGrid(b *testing.B) {
	dir := filepath.Join(os.Getenv("CHATBOT_BENCH_DIR"), "kb-100000")
	st, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		b.Skip("run BenchmarkSearchKB first:", err)
	}
	defer st.Close()
	ix, err := Open(context.Background(), st, embed.NewBuiltin(), Options{MinScore: -1, ExactBelow: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	qs := bench.NewQuestions(1)
	var qvs [][]float32
	for i := 0; i < 200; i++ {
		q := qs.At(i)
		lang := embed.DetectAmong(q, ix.docLangs())
		qv, err := ix.embedQuery(context.Background(), q, lang)
		if err != nil {
			b.Fatal(err)
		}
		qvs = append(qvs, unitVector(qv))
	}
	dead := func(s int) bool { return ix.slots[s].id == "" }
	live := ix.Len()
	for _, nlist := range []int{nlistFor(live), 2 * nlistFor(live), 4 * nlistFor(live)} {
		ix.vecs.exactBelow = 0
		t0 := time.Now()
		ix.vecs.trainIVFLists(live, nlist)
		train := time.Since(t0)
		for _, share := range []float64{1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4} {
			b.Run(fmt.Sprintf("nlist=%d/share=%.3f", nlist, share), func(b *testing.B) {
				ix.vecs.ann.share = share
				var recall float64
				var took time.Duration
				for b.Loop() {
					for _, qv := range qvs {
						t0 := time.Now()
						got := ix.vecs.nearest(qv, 50, dead)
						took += time.Since(t0)
						recall += tieAwareRecall(ix.vecs, qv, got, 10, dead)
					}
				}
				n := float64(b.N * len(qvs))
				b.ReportMetric(recall/n, "recall@10")
				b.ReportMetric(took.Seconds()*1000/n, "ms/search")
				b.ReportMetric(train.Seconds(), "train-s")
			})
		}
	}
}

// BenchmarkOpenSnapshot: Open of the BenchmarkSearchKB knowledge base
// (CHATBOT_BENCH_KB_CHUNKS, default 100,000) from its snapshot, which
// the first Open writes when missing; against BenchmarkOpen100k, the
// rebuild from bbolt.
func BenchmarkOpenSnapshot(b *testing.B) {
	n := 100000
	if v := os.Getenv("CHATBOT_BENCH_KB_CHUNKS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	dir := filepath.Join(os.Getenv("CHATBOT_BENCH_DIR"), fmt.Sprintf("kb-%d", n))
	st, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		b.Skip("run BenchmarkSearchKB first:", err)
	}
	defer st.Close()
	if _, err := os.Stat(snapshotPath(st)); err != nil {
		ix, err := Open(context.Background(), st, embed.NewBuiltin(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := ix.Close(); err != nil {
			b.Fatal(err)
		}
	}
	first := true
	for b.Loop() {
		var lb logBuffer
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ix, err := Open(context.Background(), st, embed.NewBuiltin(), Options{Log: slog.New(slog.NewTextHandler(&lb, nil))})
		if err != nil {
			b.Fatal(err)
		}
		stopSnapshots(ix)
		if !strings.Contains(lb.String(), "loaded from its snapshot") || ix.Len() != n {
			b.Fatalf("not loaded from the snapshot (%d chunks):\n%s", ix.Len(), lb.String())
		}
		b.StopTimer()
		if first { // later rounds would count the index a background calibration still holds
			first = false
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "heap-MB")
			b.ReportMetric(float64(ix.vecs.offHeapBytes())/(1<<20), "offheap-MB")
			rss, hwm := procMemory()
			b.ReportMetric(rss, "rss-MB")
			b.ReportMetric(hwm, "hwm-MB")
		}
		b.Log(strings.TrimSpace(lb.String()))
		if err := ix.Close(); err != nil { // releases the mapped vectors before the next Open
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// procMemory is this process's resident memory now and its high-water
// mark, in MB (/proc/self/status; 0 where there is none).
func procMemory() (rss, hwm float64) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}
