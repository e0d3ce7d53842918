package cmd

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/chatbot/chatbot/store"
)

// TestBackupCost measures an online backup of a large database while the
// server answers: the backup's time, the server's and the backup process's
// extra memory, and answer latency before and during. It runs only when
// CHATBOT_BACKUP_COST_GB is set (the size to build, e.g. 1):
//
//	CHATBOT_BACKUP_COST_GB=1 go test -count=1 -run TestBackupCost -v -timeout 30m ./cmd
//
// The bulk is 4 KB values in a bucket the store does not read: what a
// backup costs depends on the file's size and page count, not on what the
// pages hold, and the knowledge base would make start-up load it all.
func TestBackupCost(t *testing.T) {
	gb, _ := strconv.ParseFloat(os.Getenv("CHATBOT_BACKUP_COST_GB"), 64)
	if gb <= 0 {
		t.Skip("set CHATBOT_BACKUP_COST_GB=1 to measure a backup of a 1 GB database")
	}
	dir := t.TempDir()
	// A chatbot database first, then the bulk beside it.
	st, err := openStoreForCLI(mapEnv(nil), dir)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	start := time.Now()
	fillDB(t, filepath.Join(dir, store.FileName), int64(gb*(1<<30)))
	fi, _ := os.Stat(filepath.Join(dir, store.FileName))
	t.Logf("built a %.2f GB database in %s", float64(fi.Size())/(1<<30), time.Since(start).Round(time.Second))

	cfg := config{DataDir: dir, AdminToken: backupAdmin, AllowOutgoing: "127.0.0.0/8", Embedder: "builtin", KnowledgeRoots: []string{os.TempDir()}}
	cfg.Answer.LLM = "none"
	cfg.Incoming.RatePerMinute = 1 << 20
	a, _ := startOwnApp(t, cfg)
	recv := newFlakyReceiver(t)
	recv.up.Store(true)
	go func() {
		for range recv.delivered {
		}
	}()
	token := seedServer(t, "http://"+a.Addr(), recv.srv.URL)

	ask := func(i int) time.Duration {
		msg := fmt.Sprintf(`{"user_id":"u","message":"When do orders ship?","platform":"chatwoot","conversation_id":"cost%d","message_id":"cost-%d"}`, i%50, i)
		req, _ := http.NewRequest("POST", "http://"+a.Addr()+"/api/webhook/incoming", strings.NewReader(msg))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("answer: %d", resp.StatusCode)
		}
		return time.Since(t0)
	}
	var before []time.Duration
	for i := range 300 {
		before = append(before, ask(i))
	}
	rssBefore := rssKB(t, "/proc/self/status", "VmRSS")

	// The backup runs as its own process, as an operator runs it, while
	// this one keeps asking and sampling its own memory.
	out := filepath.Join(t.TempDir(), "cost.backup")
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "CHATBOT_TEST_EXEC_ARGS="+strings.Join([]string{"backup", "--out", out, "--data-dir", dir}, "\x1f"),
		"CHATBOT_ADMIN_TOKEN="+backupAdmin)
	var childOut strings.Builder
	child.Stdout, child.Stderr = &childOut, &childOut
	done := make(chan struct{})
	var (
		mu                  sync.Mutex
		during              []time.Duration
		peakRSS             int64
		childAnon, childFil int64 // the backup process's peak anonymous and file-backed RSS
		wg                  sync.WaitGroup
		childPID            atomic.Int64
	)
	wg.Add(2)
	go func() { // answers during the backup
		defer wg.Done()
		for i := 1000; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			d := ask(i)
			mu.Lock()
			during = append(during, d)
			mu.Unlock()
		}
	}()
	go func() { // the server's memory during the backup: a measurement, not synchronisation
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				v := rssKB(t, "/proc/self/status", "VmRSS")
				var anon, file int64
				if pid := childPID.Load(); pid != 0 {
					status := fmt.Sprintf("/proc/%d/status", pid)
					anon, file = rssKB(t, status, "RssAnon"), rssKB(t, status, "RssFile")
				}
				mu.Lock()
				peakRSS, childAnon, childFil = max(peakRSS, v), max(childAnon, anon), max(childFil, file)
				mu.Unlock()
			}
		}
	}()
	t0 := time.Now()
	err = child.Start()
	if err == nil {
		childPID.Store(int64(child.Process.Pid))
		err = child.Wait()
	}
	took := time.Since(t0)
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, childOut.String())
	}
	bfi, _ := os.Stat(out)
	childRSS := child.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	t.Logf("backup of %.2f GB (file %.2f GB) streamed, written, checked and renamed in %s", float64(fi.Size())/(1<<30), float64(bfi.Size())/(1<<30), took.Round(time.Millisecond))
	t.Logf("server RSS %d MB before, peak %d MB during (+%d MB); backup process peak RSS %d MB (sampled: anonymous %d MB, file-backed %d MB: the mapped copy being checked)",
		rssBefore>>10, peakRSS>>10, (peakRSS-rssBefore)>>10, childRSS>>10, childAnon>>10, childFil>>10)
	t.Logf("answer latency before: %s; during the backup: %s", pcts(before), pcts(during))
	t.Logf("backup said:\n%s", childOut.String())
}

// fillDB adds about size bytes of 4 KB values to the bbolt file at path.
func fillDB(t *testing.T, path string, size int64) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true, NoFreelistSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range val {
		val[i] = byte(r.Uint32())
	}
	const perTx = 20000
	n := size / int64(len(val)+16)
	for i := int64(0); i < n; i += perTx {
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("bench_filler"))
			if err != nil {
				return err
			}
			b.FillPercent = 1
			for j := i; j < min(n, i+perTx); j++ {
				k := binary.BigEndian.AppendUint64(nil, uint64(j))
				binary.BigEndian.PutUint64(val, uint64(j)) // distinct values
				if err := b.Put(k, val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
}

// rssKB reads a field (VmRSS, RssAnon, RssFile) of a /proc status file in
// KB; 0 when it cannot (the process is gone).
func rssKB(t *testing.T, status, field string) int64 {
	f, err := os.Open(status)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			v, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return v
		}
	}
	return 0
}

func pcts(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	p := func(q float64) time.Duration {
		return s[min(len(s)-1, int(q*float64(len(s))))].Round(100 * time.Microsecond)
	}
	return fmt.Sprintf("n=%d p50 %s p95 %s p99 %s max %s", len(s), p(0.5), p(0.95), p(0.99), s[len(s)-1].Round(100*time.Microsecond))
}
