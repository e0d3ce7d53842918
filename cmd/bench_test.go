package cmd

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// chatbotScript writes an executable that runs this test binary as
// `chatbot ARGS...` (see TestMain), so bench can start it as a server
// without building the module.
func chatbotScript(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "chatbot")
	script := `#!/bin/sh
sep=$(printf '\037')
args=""
first=1
for a in "$@"; do
	if [ $first = 1 ]; then args="$a"; first=0; else args="$args$sep$a"; fi
done
CHATBOT_TEST_EXEC_ARGS="$args" exec '` + self + `'
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBenchSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	md := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := os.WriteFile(md, []byte("# Benchmarks\n\n## Answering\n\nkept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, mapEnv(nil), "bench", "--binary", chatbotScript(t), "--work-dir", t.TempDir(),
		"--chunks", "60", "--users", "4", "--requests", "100", "--duration", "30s", "--warmup", "10",
		"--search-queries", "10", "--delivery-wait", "30s", "--markdown", md,
		"--overload", "--overload-duration", "300ms", "--overload-factor", "2")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(md)
	text := string(b)
	if !strings.HasPrefix(text, "# Benchmarks\n\n## Answering\n\nkept\n\n## Performance\n\n### 60 chunks, 4 users\n\n") {
		t.Fatalf("markdown section not appended after the others:\n%s", text)
	}
	for _, want := range []string{"| goal | measured | floor | ratio | met | command |",
		"| start-up with the index < 5 s |", "`chatbot bench --chunks=60"} {
		if !strings.Contains(text, want) {
			t.Errorf("markdown lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(out, "4 users, 60-chunk knowledge base") {
		t.Fatalf("no summary:\n%s", out)
	}
	if strings.Contains(out, "the load was not run") {
		t.Skip("this build has no incoming webhook yet: only the floors and start-up were measured")
	}
	if !strings.Contains(out, "answers: 200: 100;") {
		t.Errorf("the 100 load requests were not all answered 200:\n%s", out)
	}
	for _, pat := range []string{`stored (\d+) of (\d+) accepted`, `delivered (\d+) of (\d+) `} {
		m := regexp.MustCompile(pat).FindStringSubmatch(out)
		if m == nil || m[1] != m[2] || m[1] == "0" {
			t.Errorf("%s: got %v in\n%s", pat, m, out)
		}
	}
	if !strings.Contains(out, "overload at") || !strings.Contains(out, "alive yes") {
		t.Errorf("no overload phase, or the server died:\n%s", out)
	}
}

func TestBenchRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--users", "0", "--binary", "/bin/false"},
		{"bench", "--duration", "0s", "--binary", "/bin/false"},
		{"bench", "--chunks", "0", "--binary", "/bin/false"},
		{"bench", "--recall-questions", "-1", "--binary", "/bin/false"},
	} {
		if _, _, err := run(t, mapEnv(nil), args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if _, _, err := run(t, mapEnv(nil), "bench", "--recall-questions", "-1"); err == nil || !strings.Contains(err.Error(), "--recall-questions must be 0") {
		t.Errorf("--recall-questions -1: %v, want an error naming the flag", err)
	}
}
