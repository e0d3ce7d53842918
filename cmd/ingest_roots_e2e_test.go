package cmd

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const (
	// rootsKey is a valid secret.key (base64 of 32 bytes), so serve starts with it.
	rootsKey    = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	rootsPasswd = "root:x:0:0:root:/root:/bin/bash"
)

// rootsLayout writes a data directory with a key, a knowledge root whose
// docs folder links to a file outside, to a folder outside and to the key,
// and the folder outside. It returns data, root and outside.
func rootsLayout(t *testing.T) (string, string, string) {
	t.Helper()
	top, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, root, outside := filepath.Join(top, "data"), filepath.Join(top, "kb"), filepath.Join(top, "outside")
	docs := filepath.Join(root, "docs")
	for _, d := range []string{data, docs, filepath.Join(outside, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, content := range map[string]string{
		filepath.Join(data, "secret.key"):          rootsKey,
		filepath.Join(outside, "passwd"):           rootsPasswd + "\n",
		filepath.Join(outside, "etc", "shadow.md"): "# Shadow\n\n" + rootsPasswd + "\n",
		filepath.Join(docs, "guide.md"):            "# Guide\n\n## Reset\n\nTo reset the router, hold the button for ten seconds.\n",
	} {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"passwd.txt": filepath.Join(outside, "passwd"),
		"etc":        filepath.Join(outside, "etc"),
		"key.txt":    filepath.Join(data, "secret.key"),
	} {
		if err := os.Symlink(target, filepath.Join(docs, link)); err != nil {
			t.Fatal(err)
		}
	}
	return data, root, outside
}

// servingAddr matches the address in serve's "serving" log line.
var servingAddr = regexp.MustCompile(`msg=serving addr=(\S+)`)

// startServeProcess runs `chatbot serve` as a real process (this test
// binary, see TestMain) and returns its base URL; it is stopped with
// SIGTERM at cleanup and must exit 0.
func startServeProcess(t *testing.T, token string, args ...string) string {
	t.Helper()
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "CHATBOT_TEST_EXEC_ARGS="+strings.Join(append([]string{"serve"}, args...), "\x1f"),
		"CHATBOT_ADMIN_TOKEN="+token)
	stderr, err := child.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var logs []string
	addr := ""
	for addr == "" && sc.Scan() {
		logs = append(logs, sc.Text())
		if m := servingAddr.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		child.Process.Kill()
		child.Wait()
		t.Fatalf("serve never said it serves: %q", logs)
	}
	rest := make(chan string, 1)
	go func() { // keep draining, so the child never blocks on a full pipe
		b, _ := io.ReadAll(stderr)
		rest <- string(b)
	}()
	t.Cleanup(func() {
		if err := child.Process.Signal(syscall.SIGTERM); err != nil {
			t.Error(err)
		}
		tail := <-rest
		if err := child.Wait(); err != nil {
			t.Errorf("serve exited with %v; logs %q %s", err, logs, tail)
		}
		if strings.Contains(tail, rootsKey) {
			t.Errorf("the server log quotes the key")
		}
	})
	return "http://" + addr
}

// Issue 13, end to end through `chatbot serve --knowledge-root`: the API
// indexes the root's own documents, skips (and reports) the links out of
// it and to the key, refuses every path outside with one answer, and the
// knowledge base the bot answers from holds neither the key nor the
// passwd line. A document indexed from outside before the roots existed
// cannot be read again from the admin panel either.
func TestServeKnowledgeRootsEndToEnd(t *testing.T) {
	const token = "admin-token-0123456789abcdef"
	data, root, outside := rootsLayout(t)
	// Before the fix, an index may already hold a document from anywhere:
	// a local ingest of a file outside the future root.
	if out, _, err := run(t, mapEnv(nil), "ingest", filepath.Join(outside, "etc", "shadow.md"), "--data-dir", data, "--embedder", "builtin"); err != nil {
		t.Fatalf("local ingest: %v\n%s", err, out)
	}
	base := startServeProcess(t, token, "--addr", "127.0.0.1:0", "--data-dir", data, "--knowledge-root", root,
		"--embedder", "builtin", "--llm", "none")
	status, res := apiJSON(t, "POST", base+"/api/knowledge/ingest", token, `{"paths":[`+strconv.Quote(filepath.Join(root, "docs"))+`]}`)
	if status != 200 {
		t.Fatalf("ingest of the root: %d %v", status, res)
	}
	sum := res["summary"].(map[string]any)
	skipped := map[string]any{}
	for _, s := range sum["skipped"].([]any) {
		m := s.(map[string]any)
		skipped[m["path"].(string)] = m["reason"]
	}
	wantSkipped := map[string]any{
		"docs/passwd.txt": "symbolic link to outside the knowledge roots",
		"docs/etc":        "symbolic link to outside the knowledge roots",
		"docs/key.txt":    "in the data directory, which is never ingested",
	}
	if sum["added"] != 1.0 || !reflect.DeepEqual(skipped, wantSkipped) {
		t.Fatalf("summary %v, skipped %v", sum, skipped)
	}

	var first []byte
	for _, p := range []string{filepath.Join(outside, "passwd"), filepath.Join(outside, "missing"), filepath.Join(data, "secret.key"),
		filepath.Join(root, "docs", "key.txt"), filepath.Join(root, "docs", "..", "..", "outside", "passwd")} {
		status, body := apiCall(t, "POST", base+"/api/knowledge/ingest", token, `{"paths":[`+strconv.Quote(p)+`]}`)
		if status != 400 {
			t.Fatalf("%s: %d %s", p, status, body)
		}
		if first == nil {
			first = body
		}
		if string(body) != string(first) {
			t.Fatalf("%s: %s, unlike %s: the answer tells which paths exist", p, body, first)
		}
	}

	for _, q := range []string{rootsKey, "root bin bash", "reset the router"} {
		status, res := apiJSON(t, "POST", base+"/api/knowledge/search", token, fmt.Sprintf(`{"query":%q,"k":10}`, q))
		if status != 200 {
			t.Fatalf("search %q: %d %v", q, status, res)
		}
		for _, p := range res["passages"].([]any) {
			text := p.(map[string]any)["text"].(string)
			source := p.(map[string]any)["source"].(string)
			if strings.Contains(text, rootsKey) || (strings.Contains(text, "root:x:0") && !strings.HasPrefix(source, "shadow.md")) {
				t.Fatalf("search %q quotes %q from %s", q, text, source)
			}
		}
	}

	// Re-ingest of the document from outside, from the admin panel.
	status, res = apiJSON(t, "GET", base+"/api/knowledge/documents", token, "")
	if status != 200 {
		t.Fatalf("documents: %d %v", status, res)
	}
	var outsideID float64
	for _, d := range res["documents"].([]any) {
		if m := d.(map[string]any); strings.HasPrefix(m["path"].(string), outside) {
			outsideID = m["id"].(float64)
		}
	}
	if outsideID == 0 {
		t.Fatalf("the document from outside is not listed: %v", res)
	}
	status, res = apiJSON(t, "POST", fmt.Sprintf("%s/admin/api/knowledge/documents/%.0f/reingest", base, outsideID), token, "")
	if status != 403 || !strings.Contains(res["error"].(string), "not below a knowledge root") {
		t.Fatalf("reingest from outside the roots: %d %v", status, res)
	}
}

// With no --knowledge-root the server reads no file; `chatbot ingest
// --server` says which flag to set.
func TestIngestThroughServerWithoutRootNamesTheFlag(t *testing.T) {
	const token = "admin-token-0123456789abcdef"
	a, _ := startApp(t, config{AdminToken: token, Embedder: "builtin"})
	_, root, _ := rootsLayout(t)
	_, _, err := run(t, mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": token}), "ingest", filepath.Join(root, "docs"),
		"--server", "http://"+a.Addr(), "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "start chatbot serve with --knowledge-root DIR") {
		t.Fatalf("ingest through a server without roots: %v", err)
	}
	if a.index.Len() != 0 {
		t.Fatalf("%d chunks indexed", a.index.Len())
	}
	if _, _, err := run(t, mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": token}), "ingest", root, "--server", "http://"+a.Addr(),
		"--follow-symlinks"); err == nil || !strings.Contains(err.Error(), "--follow-symlinks applies to a local ingest only") {
		t.Fatalf("--follow-symlinks through a server: %v", err)
	}
}

// The local CLI keeps reading what its user can read, but skips (and
// lists) links out of the folder given unless --follow-symlinks, and never
// reads the data directory.
func TestLocalIngestSkipsLinksOutUnlessFollowed(t *testing.T) {
	data, root, _ := rootsLayout(t)
	e := noOllama(t, map[string]string{"CHATBOT_DATA_DIR": data})
	docs := filepath.Join(root, "docs")
	out, _, err := run(t, e, "ingest", docs)
	if err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	for _, want := range []string{"4 files: 1 added", "skipped docs/passwd.txt: symbolic link to outside the folder given (--follow-symlinks follows it)",
		"skipped docs/etc: symbolic link to outside the folder given (--follow-symlinks follows it)",
		"skipped docs/key.txt: in the data directory, which is never ingested"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = run(t, e, "ingest", docs, "--follow-symlinks")
	if err != nil || !strings.Contains(out, "docs/passwd.txt: added") || !strings.Contains(out, "docs/etc/shadow.md: added") ||
		!strings.Contains(out, "skipped docs/key.txt: in the data directory") {
		t.Fatalf("ingest --follow-symlinks: %v\n%s", err, out)
	}
}

// --knowledge-root folders must exist when serve starts, and must not be
// in the data directory.
func TestServeChecksKnowledgeRoots(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		root, want string
	}{
		{filepath.Join(data, "..", "nope"), "does not exist or cannot be read; create the folder or correct the path"},
		{data, "is inside the data directory"},
	} {
		_, _, err := run(t, mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": "admin-token-0123456789abcdef"}),
			"serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--embedder", "builtin", "--llm", "none", "--knowledge-root", c.root)
		if err == nil || !strings.Contains(err.Error(), "--knowledge-root") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--knowledge-root %s: %v, want %q", c.root, err, c.want)
		}
	}
}

// --knowledge-root is repeatable, CHATBOT_KNOWLEDGE_ROOTS lists folders as
// PATH does, and flags win over the environment.
func TestKnowledgeRootFlagAndEnv(t *testing.T) {
	sep := string(os.PathListSeparator)
	e := mapEnv(map[string]string{"CHATBOT_KNOWLEDGE_ROOTS": "/srv/a" + sep + sep + "/srv/b"})
	if got := serveConfig(t, e).KnowledgeRoots; !reflect.DeepEqual(got, []string{"/srv/a", "/srv/b"}) {
		t.Errorf("from env: %q", got)
	}
	if got := serveConfig(t, e, "--knowledge-root", "/srv/c", "--knowledge-root", "/srv/d").KnowledgeRoots; !reflect.DeepEqual(got, []string{"/srv/c", "/srv/d"}) {
		t.Errorf("flags over env: %q", got)
	}
	if got := serveConfig(t, mapEnv(nil)).KnowledgeRoots; got != nil {
		t.Errorf("default: %q, want none", got)
	}
}
