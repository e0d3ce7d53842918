package bench

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FloorServer is the HTTP floor: a bare net/http handler on loopback that
// reads and strictly decodes the same JSON as the incoming webhook, checks
// the required fields and returns a fixed answer of the same shape.
type FloorServer struct {
	ln  net.Listener
	srv *http.Server
}

// fixedAnswer is the floor's reply, shaped like the service's.
var fixedAnswer = []byte(`{"success":true,"response":{"answer":"To reset your password, open Settings, then Security, and choose Reset password.","response_type":"extractive","sources":[{"title":"Account guide","source":"account-00001.md#how-to-reset-your-password","score":0.82}],"user_info":{"user_id":"u","username":"n","platform":"bench","conversation_id":"c"}},"message_id":1,"response_id":2}` + "\n")

// StartHTTPFloor starts the floor server on a free loopback port.
func StartHTTPFloor() (*FloorServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the HTTP floor: %w", err)
	}
	f := &FloorServer{ln: ln}
	f.srv = &http.Server{Handler: http.HandlerFunc(floorHandler), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func floorHandler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 10<<10))
	if err != nil {
		http.Error(w, `{"success":false,"error":"body"}`, http.StatusRequestEntityTooLarge)
		return
	}
	var in Incoming
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.UserID == "" || in.Message == "" || in.ConversationID == "" {
		http.Error(w, `{"success":false,"error":"invalid"}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(fixedAnswer)
}

// URL is the floor's endpoint.
func (f *FloorServer) URL() string { return "http://" + f.ln.Addr().String() + "/api/webhook/incoming" }

// Close stops the floor server.
func (f *FloorServer) Close() error { return f.srv.Close() }

// StorageOptions shape the storage floor.
type StorageOptions struct {
	Dir      string // where the throwaway bbolt file goes
	Users    int    // concurrent writers
	Requests int    // total writes (each one request's records)
	Duration time.Duration
	NoSync   bool // the service's setting: false (fsync every commit)
	// Batch uses bbolt's Batch (concurrent writes share a commit) instead
	// of one Update per request.
	Batch bool
}

// StorageResult is what the storage floor measured.
type StorageResult struct {
	Writes  int
	Elapsed time.Duration
	Latency Latency
	Bytes   int64 // file size at the end
}

// PerSecond is writes per second.
func (s StorageResult) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Writes) / s.Elapsed.Seconds()
}

// StorageFloor puts the records one incoming webhook stores (the incoming
// message, the outgoing answer and its delivery job, as JSON under sequence
// keys) into a fresh bbolt file, in one transaction per request, with the
// same sync setting as the service.
func StorageFloor(ctx context.Context, o StorageOptions, payloads Payloads) (StorageResult, error) {
	if o.Users <= 0 || (o.Requests <= 0 && o.Duration <= 0) {
		return StorageResult{}, errors.New("storage floor needs users and a request count or duration")
	}
	path := filepath.Join(o.Dir, "floor.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoSync: o.NoSync})
	if err != nil {
		return StorageResult{}, fmt.Errorf("open storage floor: %w", err)
	}
	defer db.Close()
	names := [][]byte{[]byte("messages"), []byte("delivery_jobs")}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, n := range names {
			if _, err := tx.CreateBucketIfNotExists(n); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return StorageResult{}, fmt.Errorf("create floor buckets: %w", err)
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	write := db.Update
	if o.Batch {
		write = db.Batch
	}
	var next atomic.Int64
	lats := make([][]time.Duration, o.Users)
	errs := make([]error, o.Users)
	start := time.Now()
	var wg sync.WaitGroup
	for u := range o.Users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if o.Requests > 0 && i >= o.Requests {
					return
				}
				in, out, job := floorRecords(payloads.At(i))
				t0 := time.Now()
				err := write(func(tx *bolt.Tx) error {
					msgs := tx.Bucket(names[0])
					for _, rec := range [][]byte{in, out} {
						id, err := msgs.NextSequence()
						if err != nil {
							return err
						}
						if err := msgs.Put(itob(id), rec); err != nil {
							return err
						}
					}
					id, _ := tx.Bucket(names[1]).NextSequence()
					return tx.Bucket(names[1]).Put(itob(id), job)
				})
				if err != nil {
					errs[u] = err
					return
				}
				lats[u] = append(lats[u], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	res := StorageResult{Elapsed: time.Since(start), Bytes: FileSize(path)}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	res.Writes = len(all)
	res.Latency = Summarize(all)
	return res, errors.Join(errs...)
}

// floorRecords are records of the sizes the service stores for a request.
func floorRecords(payload []byte) (in, out, job []byte) {
	now := time.Now().UTC()
	var p Incoming
	_ = json.Unmarshal(payload, &p)
	rec := map[string]any{"message_type": "incoming", "status": "received", "config_id": 1,
		"platform": "bench", "conversation_id": p.ConversationID, "user_id": p.UserID,
		"username": p.Username, "message": p.Message, "platform_message_id": p.MessageID,
		"attempts": 0, "created_at": now, "updated_at": now}
	in, _ = json.Marshal(rec)
	rec["message_type"], rec["status"], rec["sender"], rec["sender_type"] = "outgoing", "pending", "Assistant", "bot"
	rec["message"] = string(fixedAnswer[30:180])
	rec["response_type"] = "extractive"
	rec["sources"] = []map[string]any{{"title": "Account guide", "source": "account-00001.md#how-to", "score": 0.82}}
	out, _ = json.Marshal(rec)
	job, _ = json.Marshal(map[string]any{"message_id": 2, "config_id": 1, "conversation_id": p.ConversationID,
		"webhook_id": "msg_0123456789abcdef", "attempt": 0, "next_attempt_at": now, "created_at": now})
	return in, out, job
}

func itob(v uint64) []byte {
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return b
}

// RetrievalResult is what the retrieval floor measured.
type RetrievalResult struct {
	Chunks  int
	Dim     int
	Queries int
	Latency Latency
	// BytesPerChunk is the vector alone: Dim float32s.
	BytesPerChunk int
}

// RetrievalFloor scores queries against chunks random unit vectors of dim
// float32s by brute-force dot product and keeps the top k: the floor of any
// vector search over that many chunks, bound by memory bandwidth.
func RetrievalFloor(chunks, dim, queries, k int, seed uint64) RetrievalResult {
	rng := rand.New(rand.NewPCG(seed, 7))
	vecs := make([]float32, chunks*dim)
	for i := 0; i < chunks; i++ {
		normalize(vecs[i*dim:(i+1)*dim], rng)
	}
	q := make([]float32, dim)
	lats := make([]time.Duration, 0, queries)
	var sink float32
	for range queries {
		normalize(q, rng)
		t0 := time.Now()
		top := topK(vecs, q, dim, k)
		lats = append(lats, time.Since(t0))
		sink += top[0].score
	}
	_ = sink
	return RetrievalResult{Chunks: chunks, Dim: dim, Queries: queries, Latency: Summarize(lats), BytesPerChunk: dim * 4}
}

func normalize(v []float32, rng *rand.Rand) {
	var n float64
	for i := range v {
		v[i] = float32(rng.NormFloat64())
		n += float64(v[i]) * float64(v[i])
	}
	inv := float32(1 / math.Sqrt(n))
	for i := range v {
		v[i] *= inv
	}
}

type scored struct {
	idx   int
	score float32
}

type minHeap []scored

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i].score < h[j].score }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(scored)) }
func (h *minHeap) Pop() any          { old := *h; x := old[len(old)-1]; *h = old[:len(old)-1]; return x }

// topK returns the k best chunks by dot product, best first.
func topK(vecs, q []float32, dim, k int) []scored {
	h := make(minHeap, 0, k+1)
	for i := 0; i*dim < len(vecs); i++ {
		s := dot(vecs[i*dim:(i+1)*dim], q)
		if len(h) < k {
			heap.Push(&h, scored{i, s})
		} else if s > h[0].score {
			h[0] = scored{i, s}
			heap.Fix(&h, 0)
		}
	}
	out := make([]scored, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&h).(scored)
	}
	return out
}

// dot is the dot product with four accumulators, so the loop is bound by
// memory rather than by the latency of one dependent add.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}
