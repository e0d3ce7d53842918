//go:build unix

package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/internal/ollamatest"
)

var e2eQuestions = []string{"How long are refund vouchers valid?", "How do I reset my password?",
	"When do parcels ship?", "When is a refund paid to my card?", "When does the reset link expire?"}

// e2eIngest writes e2eDocs and ingests them into dir through the CLI with
// env and the extra flags.
func e2eIngest(t *testing.T, dir string, env map[string]string, flags ...string) {
	t.Helper()
	docs := t.TempDir()
	for name, text := range e2eDocs {
		if err := os.WriteFile(filepath.Join(docs, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env["CHATBOT_DATA_DIR"] = dir
	out, _, err := run(t, mapEnv(env), append([]string{"ingest", docs}, flags...)...)
	if err != nil || !strings.Contains(out, "3 added") {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
}

// loadResult is what a burst of concurrent answers produced.
type loadResult struct {
	replies []chat.Reply
	lat     []time.Duration
	elapsed time.Duration
}

// runLoad answers n questions with `workers` at a time; after `killAfter`
// answers (0: never) it calls kill once, from the collecting goroutine.
func runLoad(t *testing.T, eng *chat.Engine, tag string, n, workers, killAfter int, kill func()) loadResult {
	t.Helper()
	type res struct {
		r   chat.Reply
		d   time.Duration
		err error
	}
	jobs := make(chan int)
	results := make(chan res)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				start := time.Now()
				r, err := eng.Answer(context.Background(), chat.Request{Platform: "freshchat", ConversationID: fmt.Sprintf("%s-%d", tag, i),
					UserID: "u", Text: e2eQuestions[i%len(e2eQuestions)]})
				results <- res{r, time.Since(start), err}
			}
		}()
	}
	go func() {
		for i := range n {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	var out loadResult
	start := time.Now()
	for r := range results {
		if r.err != nil {
			t.Fatalf("%s: answer: %v", tag, r.err)
		}
		out.replies, out.lat = append(out.replies, r.r), append(out.lat, r.d)
		if killAfter > 0 && len(out.replies) == killAfter {
			kill()
		}
	}
	out.elapsed = time.Since(start)
	slices.Sort(out.lat)
	return out
}

func (l loadResult) String() string {
	p := func(q float64) time.Duration {
		return l.lat[min(len(l.lat)-1, int(q*float64(len(l.lat))))].Round(100 * time.Microsecond)
	}
	return fmt.Sprintf("%d answers in %s: %.1f answers/s, p50 %s, p99 %s", len(l.lat), l.elapsed.Round(time.Millisecond),
		float64(len(l.lat))/l.elapsed.Seconds(), p(0.5), p(0.99))
}

// TestTwoOllamaHostsEndToEnd runs two real `ollama serve` with the tiny
// models: answers spread over both; one is killed mid-run and answers keep
// coming from the other (those in flight on it fall back by the usual
// rules, nothing fails); it comes back and takes load again. It logs the
// throughput with one host and with two.
func TestTwoOllamaHostsEndToEnd(t *testing.T) {
	srvs := ollamatest.StartMany(t, 2)
	a0, b0 := srvs[0], srvs[1]
	hosts := ollamatest.HostList(srvs)
	dir := t.TempDir()
	e2eIngest(t, dir, map[string]string{"OLLAMA_HOST": hosts}, "--embedder", "ollama", "--embed-model", ollamatest.EmbedModel)

	start := func(hostList string) *app {
		cfg := config{DataDir: t.TempDir(), AdminToken: "admin-token-0123456789abcdef"}
		// Each app gets a copy of the index: one data directory, one process.
		b, err := os.ReadFile(filepath.Join(dir, "chatbot.db"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cfg.DataDir, "chatbot.db"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Answer = answerConfig{LLM: llmOllama, OllamaHost: hostList, ChatModel: ollamatest.ChatModel,
			EmbedModel: ollamatest.EmbedModel, AnswerTimeout: 20 * time.Second, MaxTokens: 24, MaxGenerations: 2,
			Recheck: 50 * time.Millisecond}
		a, _ := startApp(t, cfg)
		return a
	}
	okReply := func(r chat.Reply) bool {
		return r.Type == chat.TypeRAG || (r.Type == chat.TypeExtractive && r.Fallback == chat.FallbackEmpty)
	}

	// Throughput: one host, then both (4 answers at a time, 2 generation
	// slots per host).
	one := start(a0.URL)
	both := start(hosts)
	// Warm up: the first generations on a server load the model.
	runLoad(t, both.answer.engine, "warm", 8, 4, 0, nil)
	warm := both.answer.llm.Hosts()
	l1 := runLoad(t, one.answer.engine, "one", 60, 4, 0, nil)
	l2 := runLoad(t, both.answer.engine, "two", 60, 4, 0, nil)
	for _, r := range append(l1.replies, l2.replies...) {
		if !okReply(r) {
			t.Fatalf("reply: %+v", r)
		}
	}
	t.Logf("tiny model, num_predict 24, 4 concurrent answers: one host: %s; two hosts: %s", l1, l2)
	hs := both.answer.llm.Hosts()
	if warm[0].Calls == 0 || warm[1].Calls == 0 || hs[0].Calls == warm[0].Calls || hs[1].Calls == warm[1].Calls {
		t.Fatalf("load did not spread over both hosts: %+v (after the warm-up %+v)", hs, warm)
	}
	t.Logf("generations per host over the two-host run: %d and %d", hs[0].Calls-warm[0].Calls, hs[1].Calls-warm[1].Calls)

	// One host is killed mid-run: every answer is still given, and no more
	// than the generations in flight on it at the kill (2) fall back.
	before := both.answer.llm.Hosts()
	l3 := runLoad(t, both.answer.engine, "kill", 60, 4, 15, b0.Stop)
	fellBack := 0
	for _, r := range l3.replies {
		switch {
		case okReply(r):
		case r.Type == chat.TypeExtractive && r.Fallback == chat.FallbackError:
			fellBack++
		default:
			t.Fatalf("reply during the kill: %+v", r)
		}
	}
	if fellBack > 2 {
		t.Fatalf("%d answers fell back; at most the 2 in flight on the killed host may", fellBack)
	}
	after := both.answer.llm.Hosts()
	if after[1].State != "down" || after[0].Calls-before[0].Calls < 40 {
		t.Fatalf("after the kill: %+v (before %+v)", after, before)
	}
	t.Logf("host killed after 15 of 60 answers: %d fell back to extractive, %d retried on the other host; %s",
		fellBack, both.answer.llm.Counts().Retries, l3)
	if rd := readyz(t, "http://"+both.Addr()); rd.Status != "ready" || rd.LLM.State != "ok" {
		t.Fatalf("readyz with one host down = %+v", rd)
	}
	if hs := llmHosts(t, "http://"+both.Addr(), "admin-token-0123456789abcdef").LLM.Hosts; len(hs) != 2 || hs[1].State != "down" || hs[0].State != "ok" {
		t.Fatalf("/api/llm/hosts with one host down = %+v", hs)
	}

	// It comes back: the background check takes it in again, and it gets
	// load.
	b0.Restart()
	deadline := time.Now().Add(20 * time.Second)
	for both.answer.llm.Hosts()[1].State != "ok" {
		if time.Now().After(deadline) {
			t.Fatalf("host still down 20 s after it returned: %+v", both.answer.llm.Hosts())
		}
		time.Sleep(20 * time.Millisecond) // waiting on the background re-check of another process
	}
	back := both.answer.llm.Hosts()[1].Calls
	l4 := runLoad(t, both.answer.engine, "back", 20, 4, 0, nil)
	for _, r := range l4.replies {
		if !okReply(r) {
			t.Fatalf("reply after recovery: %+v", r)
		}
	}
	if both.answer.llm.Hosts()[1].Calls == back {
		t.Fatalf("the returned host got no load: %+v", both.answer.llm.Hosts())
	}
}

// TestOllamaThroughItsOpenAIEndpoint runs the OpenAI-compatible backend
// against a real Ollama's /v1 (chat and embeddings): answers, the kill
// (extractive, fast), the recovery.
func TestOllamaThroughItsOpenAIEndpoint(t *testing.T) {
	srv := ollamatest.Start(t)
	srv.CreateModels()
	dir := t.TempDir()
	e2eIngest(t, dir, map[string]string{"CHATBOT_LLM": "openai", "CHATBOT_LLM_URL": srv.URL + "/v1"},
		"--embedder", "openai", "--embed-model", ollamatest.EmbedModel)

	cfg := config{DataDir: dir, AdminToken: "admin-token-0123456789abcdef", EmbedModel: ollamatest.EmbedModel}
	cfg.Answer = answerConfig{LLM: llmOpenAI, LLMURL: srv.URL, ChatModel: ollamatest.ChatModel,
		AnswerTimeout: 20 * time.Second, MaxTokens: 24, MaxGenerations: 2, Recheck: 50 * time.Millisecond}
	a, _ := startApp(t, cfg)
	if info := a.index.Info(); info.Provider != "openai" || info.Model != ollamatest.EmbedModel {
		t.Fatalf("index embedder = %+v", info)
	}
	eng := a.answer.engine
	l := runLoad(t, eng, "v1", 40, 4, 0, nil)
	for _, r := range l.replies {
		if !(r.Type == chat.TypeRAG || (r.Type == chat.TypeExtractive && r.Fallback == chat.FallbackEmpty)) || len(r.Sources) == 0 {
			t.Fatalf("reply: %+v", r)
		}
	}
	t.Logf("through Ollama's /v1 (openai backend), 4 concurrent answers: %s", l)

	srv.Stop()
	// Each call fails over to the extractive answer; the breaker opens at
	// once on a refused connection, or after its threshold of failures when
	// a call lands on a kept-alive connection the dead server dropped (a
	// POST is not retried by the transport), so ask until it is open.
	for i := 0; ; i++ {
		r, err := eng.Answer(context.Background(), chat.Request{Platform: "p", ConversationID: fmt.Sprintf("d1-%d", i), UserID: "u", Text: "How do I reset my password?"})
		if err != nil || r.Type != chat.TypeExtractive || r.Answer == "" {
			t.Fatalf("down: %+v %v", r, err)
		}
		if r.Fallback == chat.FallbackDown {
			break
		}
		if i == 5 {
			t.Fatalf("the breaker is still closed after %d failed calls: %+v", i+1, a.answer.llm.State())
		}
	}
	startAt := time.Now()
	r, _ := eng.Answer(context.Background(), chat.Request{Platform: "p", ConversationID: "d2", UserID: "u", Text: "When do parcels ship?"})
	if r.Type != chat.TypeExtractive || r.Fallback != chat.FallbackDown || time.Since(startAt) > 10*time.Second {
		t.Fatalf("breaker open: %+v after %v", r, time.Since(startAt))
	}
	srv.Restart()
	deadline := time.Now().Add(20 * time.Second)
	for !a.answer.llm.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("still down 20 s after ollama returned: %+v", a.answer.llm.State())
		}
		time.Sleep(20 * time.Millisecond) // waiting on the background re-check of another process
	}
	r, _ = eng.Answer(context.Background(), chat.Request{Platform: "p", ConversationID: "d3", UserID: "u", Text: "When do parcels ship?"})
	if r.Type != chat.TypeRAG && r.Fallback != chat.FallbackEmpty {
		t.Fatalf("after recovery: %+v", r)
	}
}
