package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	got := Summarize(s)
	want := Latency{Count: 100, Mean: 50500 * time.Microsecond, P50: 50 * time.Millisecond,
		P95: 95 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Fatalf("Summarize = %+v, want %+v", got, want)
	}
	if (Summarize(nil) != Latency{}) {
		t.Fatal("empty summary is not zero")
	}
	if one := Summarize([]time.Duration{7}); one.P50 != 7 || one.P99 != 7 || one.Max != 7 {
		t.Fatalf("one sample: %+v", one)
	}
}

func TestRequireLoopback(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080/x", true},
		{"http://127.8.9.10/x", true},
		{"http://localhost:1/", true},
		{"http://[::1]:80/", true},
		{"http://10.0.0.1/", false},
		{"http://192.168.1.1/", false},
		{"http://example.com/", false},
		{"http://8.8.8.8/", false},
	} {
		if err := RequireLoopback(tc.url); (err == nil) != tc.ok {
			t.Errorf("RequireLoopback(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func TestDriverCountsByStatus(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in Incoming
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("decode: %v", err)
		}
		mu.Lock()
		seen[in.MessageID]++
		n := len(seen)
		mu.Unlock()
		if n%10 == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		if n%25 == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // without Retry-After
			return
		}
		w.Write([]byte(`{"success":true}`))
	}))
	defer srv.Close()
	d, err := NewDriver(LoadOptions{Users: 8, Requests: 300})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p := Payloads{Run: "t", Platform: "bench", Conversations: 16, Questions: NewQuestions(1)}
	var calls sync.Map
	res, err := d.Run(context.Background(), func(i int) Request {
		return Request{URL: srv.URL, Header: http.Header{"Content-Type": {"application/json"}}, Body: p.At(i)}
	}, func(r Response) { calls.Store(r.Index, r.Status) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 300 || res.Latency.Count != 300 || res.TransportErrors != 0 {
		t.Fatalf("sent %d, answered %d, transport errors %d (%s)", res.Sent, res.Latency.Count, res.TransportErrors, res.FirstError)
	}
	want := map[int]int{http.StatusTooManyRequests: 30, http.StatusServiceUnavailable: 12, http.StatusOK: 258}
	if fmt.Sprint(res.ByStatus) != fmt.Sprint(want) {
		t.Fatalf("by status %v, want %v", res.ByStatus, want)
	}
	if res.NoRetryAfter != 12 || res.OK() != 258 {
		t.Fatalf("no Retry-After %d (want 12), OK %d (want 258)", res.NoRetryAfter, res.OK())
	}
	if len(seen) != 300 {
		t.Fatalf("server saw %d distinct message ids, want 300", len(seen))
	}
	n := 0
	calls.Range(func(_, _ any) bool { n++; return true })
	if n != 300 {
		t.Fatalf("callback ran for %d requests, want 300", n)
	}
	if res.RPS() <= 0 {
		t.Fatal("no rate")
	}
}

func TestDriverRefusesNonLoopbackAndUnbounded(t *testing.T) {
	if _, err := NewDriver(LoadOptions{Users: 1}); err == nil {
		t.Fatal("unbounded run accepted")
	}
	d, _ := NewDriver(LoadOptions{Users: 1, Requests: 1})
	_, err := d.Run(context.Background(), func(int) Request { return Request{URL: "http://192.0.2.1/"} }, nil)
	if err == nil || !strings.Contains(err.Error(), "not a loopback") {
		t.Fatalf("err = %v", err)
	}
}

func TestDriverOpenLoopDropsWhenBusy(t *testing.T) {
	// The server never answers, so both users stay busy until their
	// requests time out and every later request is dropped, not queued.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	d, _ := NewDriver(LoadOptions{Users: 2, Requests: 50, Rate: 1e6, Timeout: time.Second})
	defer d.Close()
	res, err := d.Run(context.Background(), func(int) Request { return Request{URL: srv.URL} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 2 || res.Dropped != 48 || res.Timeouts != 2 || res.TransportErrors != 2 {
		t.Fatalf("sent %d dropped %d timeouts %d transport errors %d", res.Sent, res.Dropped, res.Timeouts, res.TransportErrors)
	}
}

func TestDriverStopsAtDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	d, _ := NewDriver(LoadOptions{Users: 4, Duration: 100 * time.Millisecond})
	res, err := d.Run(context.Background(), func(int) Request { return Request{Method: http.MethodGet, URL: srv.URL} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Elapsed > 2*time.Second || res.ByStatus[200] == 0 || res.TransportErrors != 0 {
		t.Fatalf("elapsed %v, %v, %d errors", res.Elapsed, res.ByStatus, res.TransportErrors)
	}
}

func TestReceiverDedupesAndWaits(t *testing.T) {
	r, err := NewReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	post := func(id string, msg uint64) int {
		req, _ := http.NewRequest(http.MethodPost, r.URL(), strings.NewReader(fmt.Sprintf(`{"message_id":%d}`, msg)))
		if id != "" {
			req.Header.Set("webhook-id", id)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	answered := time.Now()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- r.WaitFor(ctx, 3)
	}()
	for i, c := range []struct {
		id   string
		msg  uint64
		want int
	}{{"msg_1", 2, 200}, {"msg_1", 2, 200}, {"msg_2", 4, 200}, {"", 6, 400}, {"msg_3", 6, 200}} {
		if got := post(c.id, c.msg); got != c.want {
			t.Fatalf("post %d: status %d, want %d", i, got, c.want)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := r.Stats(map[uint64]time.Time{2: answered, 4: answered, 8: answered})
	if st.Received != 5 || st.Unique != 3 || st.Duplicates != 1 || st.Malformed != 1 || st.Matched != 2 || st.Lag.Count != 2 {
		t.Fatalf("stats %+v", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.WaitFor(ctx, 4); err == nil || !strings.Contains(err.Error(), "3 of 4") {
		t.Fatalf("WaitFor with ended ctx = %v", err)
	}
}

func TestReadProc(t *testing.T) {
	st, err := readProcFrom("testdata/proc")
	if err != nil {
		t.Fatal(err)
	}
	want := ProcStats{RSS: 10240 << 10, Peak: 20480 << 10, CPU: 3 * time.Second}
	if st != want {
		t.Fatalf("ReadProc = %+v, want %+v", st, want)
	}
	self, err := ReadProc(os.Getpid())
	if err != nil || self.RSS <= 0 || self.Peak < self.RSS {
		t.Fatalf("own process: %+v, %v", self, err)
	}
	if _, err := readProcFrom(t.TempDir()); err == nil {
		t.Fatal("missing files accepted")
	}
}

func TestGenerateKBIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ia, err := GenerateKB(a, 120, 42)
	if err != nil {
		t.Fatal(err)
	}
	ib, _ := GenerateKB(b, 120, 42)
	if ia.Files != 3 || ia.Chunks != 120 || ia.Bytes != ib.Bytes || ia.Bytes == 0 {
		t.Fatalf("infos %+v %+v", ia, ib)
	}
	files, _ := filepath.Glob(filepath.Join(a, "*.md"))
	if len(files) != 3 {
		t.Fatalf("%d files", len(files))
	}
	sections := 0
	for _, f := range files {
		x, _ := os.ReadFile(f)
		y, err := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		if err != nil || string(x) != string(y) {
			t.Fatalf("%s differs between runs with the same seed", filepath.Base(f))
		}
		for _, part := range strings.Split(string(x), "\n## ")[1:] {
			sections++
			if n := len(part); n < 300 || n > 1000 {
				t.Errorf("section of %d bytes; want one chunk of 300-1000", n)
			}
		}
	}
	if sections != 120 {
		t.Fatalf("%d sections, want 120", sections)
	}
	if _, err := GenerateKB(a, 0, 1); err == nil {
		t.Fatal("zero chunks accepted")
	}
	q := NewQuestions(3)
	if q.At(5) != NewQuestions(3).At(5) || q.At(5) == q.At(6) && q.At(6) == q.At(7) {
		t.Fatal("questions not deterministic or all the same")
	}
}

func TestFloors(t *testing.T) {
	f, err := StartHTTPFloor()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := Payloads{Run: "f", Platform: "bench", Conversations: 4, Questions: NewQuestions(1)}
	d, _ := NewDriver(LoadOptions{Users: 4, Requests: 200})
	defer d.Close()
	res, err := d.Run(context.Background(), func(i int) Request {
		return Request{URL: f.URL(), Header: http.Header{"Content-Type": {"application/json"}}, Body: p.At(i)}
	}, nil)
	if err != nil || res.ByStatus[200] != 200 {
		t.Fatalf("HTTP floor: %v %v %s", err, res.ByStatus, res.FirstError)
	}
	d2, _ := NewDriver(LoadOptions{Users: 1, Requests: 1})
	res, _ = d2.Run(context.Background(), func(int) Request { return Request{URL: f.URL(), Body: []byte(`{"user_id":"u"}`)} }, nil)
	if res.ByStatus[400] != 1 {
		t.Fatalf("HTTP floor took an incomplete message: %v", res.ByStatus)
	}

	for _, batch := range []bool{false, true} {
		st, err := StorageFloor(context.Background(), StorageOptions{Dir: t.TempDir(), Users: 4, Requests: 100, NoSync: true, Batch: batch}, p)
		if err != nil || st.Writes != 100 || st.Latency.Count != 100 || st.Bytes == 0 {
			t.Fatalf("storage floor (batch %v): %+v %v", batch, st, err)
		}
	}

	r := RetrievalFloor(500, 16, 20, 5, 1)
	if r.Latency.Count != 20 || r.BytesPerChunk != 64 || r.Chunks != 500 {
		t.Fatalf("retrieval floor %+v", r)
	}
}

func TestTopK(t *testing.T) {
	vecs := []float32{1, 0, 0, 1, 0.6, 0.8, -1, 0}
	got := topK(vecs, []float32{0.6, 0.8}, 2, 2)
	if len(got) != 2 || got[0].idx != 2 || got[1].idx != 1 {
		t.Fatalf("topK = %+v, want chunk 2 then 1", got)
	}
}

func TestUpdateSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "B.md")
	steps := []struct {
		before   string // written first, unless empty
		sub, got string
		want     string
	}{
		{"", "10k", "table 1", "## Performance\n\n### 10k\n\ntable 1\n"},
		{"# Benchmarks\n\n## Answering\n\nkeep me\n", "10k", "t\n",
			"# Benchmarks\n\n## Answering\n\nkeep me\n\n## Performance\n\n### 10k\n\nt\n"},
		{"", "100k", "u", "# Benchmarks\n\n## Answering\n\nkeep me\n\n## Performance\n\n### 10k\n\nt\n\n### 100k\n\nu\n"},
		{"", "10k", "t2", "# Benchmarks\n\n## Answering\n\nkeep me\n\n## Performance\n\n### 10k\n\nt2\n\n### 100k\n\nu\n"},
		{"# B\n\n## Performance\n\nintro\n\n### 10k\n\nold\nold\n\n## Later\n\nkeep too\n", "10k", "new",
			"# B\n\n## Performance\n\nintro\n\n### 10k\n\nnew\n\n## Later\n\nkeep too\n"},
		{"", "1k", "x", "# B\n\n## Performance\n\nintro\n\n### 10k\n\nnew\n\n### 1k\n\nx\n\n## Later\n\nkeep too\n"},
	}
	for i, st := range steps {
		if st.before != "" {
			if err := os.WriteFile(path, []byte(st.before), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := UpdateSection(path, "Performance", st.sub, st.got); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if string(got) != st.want {
			t.Fatalf("step %d:\ngot  %q\nwant %q", i, got, st.want)
		}
	}
}

func TestDot(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6, 7}
	b := []float32{7, 6, 5, 4, 3, 2, 1}
	if got := dot(a, b); got != 84 {
		t.Fatalf("dot = %v, want 84", got)
	}
}

func BenchmarkRetrievalFloor10k(b *testing.B) {
	for b.Loop() {
		RetrievalFloor(10000, BuiltinDim, 10, 5, 1)
	}
}
