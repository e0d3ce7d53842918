package rag

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// logBuffer collects an index's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func openLogged(t *testing.T, st *store.Store, opts Options) (*Index, *logBuffer) {
	t.Helper()
	lb := &logBuffer{}
	opts.Log = slog.New(slog.NewTextHandler(lb, nil))
	return openIndex(t, st, embed.NewBuiltin(), opts), lb
}

// snapshotCorpus indexes 60 generated documents and removes two, so that
// the index has removed slots too.
func snapshotCorpus(t *testing.T, ix *Index) {
	t.Helper()
	g := newTextGen(21)
	docs := make([]BEIRDoc, 60)
	for i := range docs {
		docs[i] = BEIRDoc{ID: fmt.Sprintf("d%02d", i), Title: fmt.Sprintf("Doc %d", i), Text: g.paragraph(300)}
	}
	putTexts(t, ix, docs...)
	all, err := ix.st.Documents()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range all[:2] {
		if err := ix.Remove(context.Background(), d.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// searchAll runs the same questions in every mode.
func searchAll(t *testing.T, ix *Index) [][]Passage {
	t.Helper()
	g := newTextGen(77)
	var out [][]Passage
	for i := 0; i < 20; i++ {
		q := g.query()
		for _, m := range []Mode{ModeHybrid, ModeLexical, ModeVector} {
			ps, err := ix.search(context.Background(), q, 10, m)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ps)
		}
	}
	return out
}

// waitANN waits for a background IVF training to finish.
func waitANN(ix *Index) {
	for ix.annBusy.Load() {
		runtime.Gosched()
	}
}

// The index loaded from its snapshot is the index that wrote it (slots,
// vectors, postings, the IVF) and answers like one rebuilt from the store.
func TestSnapshotLoadedIndexAnswersLikeRebuilt(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	ix1, _ := openLogged(t, st, Options{MinScore: -1, ExactBelow: -1})
	snapshotCorpus(t, ix1)
	waitANN(ix1)
	stopSnapshots(ix1)
	if err := ix1.Snapshot(); err != nil { // not Close: ix1 is searched below
		t.Fatal(err)
	}
	if _, err := os.Stat(snapshotPath(st)); err != nil {
		t.Fatalf("no snapshot after Snapshot: %v", err)
	}
	ix2, log2 := openLogged(t, st, Options{MinScore: -1, ExactBelow: -1})
	if !strings.Contains(log2.String(), "loaded from its snapshot") {
		t.Fatalf("not loaded from the snapshot; log:\n%s", log2)
	}
	for name, pair := range map[string][2]any{
		"slots":   {ix1.slots, ix2.slots},
		"byID":    {ix1.byID, ix2.byID},
		"docs":    {ix1.docs, ix2.docs},
		"langs":   {ix1.langs, ix2.langs},
		"dead":    {ix1.dead, ix2.dead},
		"data":    {ix1.vecs.data, ix2.vecs.data},
		"quant":   {ix1.vecs.quant, ix2.vecs.quant},
		"scale":   {ix1.vecs.scale, ix2.vecs.scale},
		"ids":     {ix1.lex.ids, ix2.lex.ids},
		"post":    {ix1.lex.postings, ix2.lex.postings},
		"lengths": {ix1.lex.lengths, ix2.lex.lengths},
		"counts":  {[3]int64{int64(ix1.lex.live), ix1.lex.total, int64(ix1.lex.dead)}, [3]int64{int64(ix2.lex.live), ix2.lex.total, int64(ix2.lex.dead)}},
		"ivf.of":  {ix1.vecs.ann.of, ix2.vecs.ann.of},
		"ivf.c":   {ix1.vecs.ann.cents, ix2.vecs.ann.cents},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s differs after the snapshot round trip", name)
		}
	}
	if ix1.dead == 0 {
		t.Fatal("the corpus left no removed slots: the test covers less than it says")
	}
	if !reflect.DeepEqual(searchAll(t, ix1), searchAll(t, ix2)) {
		t.Fatal("the snapshot-loaded index answers differently from the one that wrote it")
	}

	// The exact scan over the snapshot against a rebuild from the store.
	fromSnap, _ := openLogged(t, st, Options{MinScore: -1})
	if err := os.Remove(snapshotPath(st)); err != nil {
		t.Fatal(err)
	}
	rebuilt, log3 := openLogged(t, st, Options{MinScore: -1})
	stopSnapshots(rebuilt)
	if strings.Contains(log3.String(), "snapshot") {
		t.Fatalf("without a file the log mentions a snapshot:\n%s", log3)
	}
	if a, b := searchAll(t, fromSnap), searchAll(t, rebuilt); !reflect.DeepEqual(a, b) {
		t.Fatalf("snapshot-loaded and rebuilt indexes answer differently:\n%v\n%v", a[0], b[0])
	}
}

// stopSnapshots keeps an index from writing its snapshot.
func stopSnapshots(ix *Index) {
	ix.snapMu.Lock()
	ix.snapClosed = true
	if ix.snapTimer != nil {
		ix.snapTimer.Stop()
	}
	ix.snapMu.Unlock()
}

// A snapshot written before a document was ingested is not used: the
// index is rebuilt and has the document.
func TestSnapshotStaleIsNotUsed(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix1, _ := openLogged(t, st, Options{MinScore: -1})
	snapshotCorpus(t, ix1)
	if err := ix1.Close(); err != nil {
		t.Fatal(err)
	}
	ix2, _ := openLogged(t, st, Options{MinScore: -1})
	stopSnapshots(ix2)
	putTexts(t, ix2, BEIRDoc{ID: "late", Text: "Zebras graze quietly beside the lighthouse."})
	ix3, log3 := openLogged(t, st, Options{MinScore: -1})
	if !strings.Contains(log3.String(), "stale") || strings.Contains(log3.String(), "loaded from its snapshot") {
		t.Fatalf("a stale snapshot: log\n%s", log3)
	}
	if ix3.Len() != ix2.Len() || ix3.Len() != 59 {
		t.Fatalf("rebuilt index has %d chunks, the live one %d, want 59", ix3.Len(), ix2.Len())
	}
	ps, err := ix3.search(context.Background(), "zebras lighthouse", 1, ModeLexical)
	if err != nil || len(ps) != 1 || ps[0].Source != "late" {
		t.Fatalf("the late document: %+v, %v", ps, err)
	}
}

// A damaged snapshot (truncated, a flipped byte, not a snapshot, another
// format version) falls back to the rebuild, says why, and the index is
// complete.
func TestSnapshotDamagedFallsBack(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix1, _ := openLogged(t, st, Options{MinScore: -1})
	snapshotCorpus(t, ix1)
	want := searchAll(t, ix1) // before Close, which releases its vectors
	if err := ix1.Close(); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(snapshotPath(st))
	if err != nil {
		t.Fatal(err)
	}
	flip := bytes.Clone(good)
	flip[len(flip)/2] ^= 0x40
	version := bytes.Clone(good)
	version[len(snapshotMagic)] = snapshotVersion + 1
	for name, c := range map[string]struct {
		file   []byte
		reason string
	}{
		"truncated":    {good[:len(good)/2], "damaged"},
		"flipped byte": {flip, "damaged"},
		"empty":        {nil, "damaged"},
		"not ours":     {[]byte("PK\x03\x04 a zip file, not a snapshot"), "not a knowledge snapshot"},
		"version":      {version, "format version"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(snapshotPath(st), c.file, 0o600); err != nil {
				t.Fatal(err)
			}
			ix, log := openLogged(t, st, Options{MinScore: -1})
			stopSnapshots(ix)
			if !strings.Contains(log.String(), "snapshot not used") || !strings.Contains(log.String(), c.reason) {
				t.Fatalf("log does not say the snapshot was not used for %q:\n%s", c.reason, log)
			}
			if got := searchAll(t, ix); !reflect.DeepEqual(got, want) {
				t.Fatal("the rebuilt index answers differently")
			}
		})
	}
}

// FuzzSnapshotDecode: no input makes the decoder panic or allocate past
// the input's size; what it accepts has consistent parts.
func FuzzSnapshotDecode(f *testing.F) {
	vs := newVectors(4, 0)
	lex := newLexical()
	for i, v := range [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 1}} {
		vs.add(v)
		lex.add(i, []string{"a", fmt.Sprint(i)})
	}
	vs.trainIVF(3)
	var buf bytes.Buffer
	e := &snapWriter{w: bufio.NewWriter(&buf)}
	encodeState(e, indexState{slots: []slot{{id: "1-0", docID: 1}, {id: "1-1", docID: 1}, {id: "2-0", docID: 2, lang: "en"}}, vecs: vs, lex: lex})
	e.w.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := &snapReader{r: bufio.NewReader(bytes.NewReader(b)), left: int64(len(b))}
		s, err := decodeState(d, 4, 0)
		if err != nil {
			return
		}
		n := len(s.slots)
		if len(s.vecs.scale) != n || len(s.lex.lengths) != n {
			t.Fatalf("accepted %d slots with %d vectors and %d lengths", n, len(s.vecs.scale), len(s.lex.lengths))
		}
		for _, ps := range s.lex.postings {
			for _, p := range ps {
				if int(p.slot) >= n || p.slot < 0 {
					t.Fatalf("accepted a posting of slot %d of %d", p.slot, n)
				}
			}
		}
	})
}

// The quiet period before a background snapshot grows with the index and
// with the last write, so that writing holds up changes a tenth of the
// time at most.
func TestSnapshotQuietPeriod(t *testing.T) {
	for _, c := range []struct {
		chunks int
		last   time.Duration
		want   time.Duration
	}{
		{0, 0, 5 * time.Second},
		{100000, 0, 5 * time.Second},
		{1000000, 0, 40 * time.Second},
		{1000000, 8 * time.Second, 80 * time.Second},
		{1000, 300 * time.Millisecond, 5 * time.Second},
	} {
		if got := quietFor(c.chunks, c.last); got != c.want {
			t.Errorf("quietFor(%d, %v) = %v, want %v", c.chunks, c.last, got, c.want)
		}
	}
}
