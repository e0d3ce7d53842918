package rag

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The key material and system file lines the tests make sure never reach
// the index.
const (
	keyMaterial = "KEYMATERIAL-9f2c"
	passwdLine  = "root:x:0:0:root:/root:/bin/bash"
)

// jail is a layout for the access tests: a data directory with its key, a
// knowledge root with documents and links leading out of it, and a folder
// outside both.
type jail struct {
	top, data, root, outside string
}

func newJail(t testing.TB) jail {
	t.Helper()
	top, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	j := jail{top: top, data: filepath.Join(top, "data"), root: filepath.Join(top, "kb"), outside: filepath.Join(top, "outside")}
	write := func(p, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		t.Helper()
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(j.data, "secret.key"), keyMaterial)
	write(filepath.Join(j.outside, "passwd"), passwdLine+"\n")
	write(filepath.Join(j.outside, "etc", "shadow.md"), "# Shadow\n\n"+passwdLine+"\n")
	docs := filepath.Join(j.root, "docs")
	write(filepath.Join(docs, "guide.md"), "# Guide\n\nPlug the router in and wait for the green light.\n")
	write(filepath.Join(docs, "LICENSE"), "Permission is hereby granted, free of charge.\n")
	link("../../outside/passwd", filepath.Join(docs, "passwd.txt"))             // a file outside, relative
	link(filepath.Join(j.outside, "etc"), filepath.Join(docs, "etc"))           // a folder outside, absolute
	link(filepath.Join(j.data, "secret.key"), filepath.Join(docs, "key.txt"))   // the data directory's key
	link(filepath.Join(docs, "guide.md"), filepath.Join(docs, "same-guide.md")) // absolute, but inside: followed
	return j
}

func ingestBody(paths ...string) string {
	b, _ := json.Marshal(IngestRequest{Paths: paths})
	return string(b)
}

// assertNothingSecret fails when any chunk holds the key or (unless the
// outside folder is in a root) the passwd line.
func assertNothingSecret(t *testing.T, ix *Index, passwdReadable bool) {
	t.Helper()
	for _, q := range []string{keyMaterial, "root bin bash", "shadow"} {
		ps, err := ix.Search(context.Background(), q, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if strings.Contains(p.Text, keyMaterial) || (!passwdReadable && strings.Contains(p.Text, "root:x:0")) {
				t.Fatalf("the index quotes a secret: %q from %s", p.Text, p.Source)
			}
		}
	}
}

// Issue 13: a folder under the root indexes its own files and skips, with
// the reason, every link out of the root and into the data directory, and
// files without an extension.
func TestIngestAPISkipsLinksOutOfTheRoot(t *testing.T) {
	j := newJail(t)
	srv, ix := newTestServer(t, j.data, j.root)
	code, out := apiCall(t, srv, "POST", "/api/knowledge/ingest", testToken, ingestBody(filepath.Join(j.root, "docs")))
	if code != http.StatusOK {
		t.Fatalf("ingest: %d %v", code, out)
	}
	sum := out["summary"].(map[string]any)
	if sum["added"] != 2.0 {
		t.Fatalf("added %v, want guide.md and same-guide.md: %v", sum["added"], sum)
	}
	got := map[string]any{}
	for _, s := range sum["skipped"].([]any) {
		m := s.(map[string]any)
		got[m["path"].(string)] = m["reason"]
	}
	want := map[string]any{
		"docs/passwd.txt": "symbolic link to outside the knowledge roots",
		"docs/etc":        "symbolic link to outside the knowledge roots",
		"docs/key.txt":    "in the data directory, which is never ingested",
		"docs/LICENSE":    "no file extension (name the file itself to ingest it as text)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("skipped:\n got %v\nwant %v", got, want)
	}
	assertNothingSecret(t, ix, false)
	// Named explicitly, a file without an extension is text.
	code, out = apiCall(t, srv, "POST", "/api/knowledge/ingest", testToken, ingestBody(filepath.Join(j.root, "docs", "LICENSE")))
	if code != http.StatusOK || out["summary"].(map[string]any)["added"] != 1.0 {
		t.Fatalf("explicit LICENSE: %d %v", code, out)
	}
}

// Issue 13: every path the server may not read gets the same answer,
// whether it exists or not, so the API tells nothing about the server's
// files; nothing is indexed from any of them.
func TestIngestAPIRefusesPathsOutsideTheRootsAlike(t *testing.T) {
	j := newJail(t)
	srv, ix := newTestServer(t, j.data, j.root)
	docs := filepath.Join(j.root, "docs")
	var first map[string]any
	for _, p := range []string{
		filepath.Join(j.outside, "passwd"),                // exists, outside
		filepath.Join(j.outside, "nope"),                  // does not exist, outside
		docs + "/../../outside/passwd",                    // .. out of the root
		filepath.Join(docs, "passwd.txt"),                 // a link to a file outside
		filepath.Join(docs, "etc"),                        // a link to a folder outside
		filepath.Join(docs, "etc", "shadow.md"),           // through that link
		filepath.Join(j.data, "secret.key"),               // the key itself
		filepath.Join(docs, "key.txt"),                    // a link to it
		filepath.Join(docs, "missing.md"),                 // inside, does not exist
		"docs/guide.md",                                   // relative: to what?
		filepath.Join(j.data, "chatbot.db"),               // the database
		filepath.Join(j.root, "..", "data", "secret.key"), // .. into the data directory
	} {
		code, out := apiCall(t, srv, "POST", "/api/knowledge/ingest", testToken, ingestBody(p))
		if code != http.StatusBadRequest || out["field"] != "paths" {
			t.Fatalf("%s: %d %v", p, code, out)
		}
		if first == nil {
			first = out
			if msg := out["error"].(string); !strings.Contains(msg, "below its knowledge roots ("+j.root+")") {
				t.Fatalf("message does not name the roots: %q", msg)
			}
		}
		if !reflect.DeepEqual(out, first) {
			t.Fatalf("%s: answer %v differs from %v: it tells which paths exist", p, out, first)
		}
	}
	if ix.Len() != 0 {
		t.Fatalf("%d chunks indexed from refused paths", ix.Len())
	}
	// One refused path refuses the request: nothing of the good one either.
	code, _ := apiCall(t, srv, "POST", "/api/knowledge/ingest", testToken, ingestBody(docs, filepath.Join(j.outside, "passwd")))
	if code != http.StatusBadRequest || ix.Len() != 0 {
		t.Fatalf("mixed request: %d, %d chunks", code, ix.Len())
	}
}

// Issue 13: with no knowledge root (the default) the API reads no file and
// says how to name one.
func TestIngestAPIWithoutRootsReadsNothing(t *testing.T) {
	j := newJail(t)
	srv, ix := newTestServer(t, j.data)
	code, out := apiCall(t, srv, "POST", "/api/knowledge/ingest", testToken, ingestBody(filepath.Join(j.root, "docs")))
	if code != http.StatusForbidden || !strings.Contains(out["error"].(string), "--knowledge-root DIR") || ix.Len() != 0 {
		t.Fatalf("ingest without roots: %d %v, %d chunks", code, out, ix.Len())
	}
}

// A root that holds the data directory: the data directory's files are
// still never read, by any name, even a hard link the path check cannot
// see.
func TestIngestAPIRootHoldingTheDataDirectory(t *testing.T) {
	j := newJail(t)
	if err := os.Link(filepath.Join(j.data, "secret.key"), filepath.Join(j.root, "docs", "hard-key.txt")); err != nil {
		t.Fatal(err)
	}
	srv, ix := newTestServer(t, j.data, j.top)
	code, out := apiCall(t, srv, "POST", "/api/knowledge/ingest", testToken, ingestBody(j.top))
	if code != http.StatusOK {
		t.Fatalf("ingest: %d %v", code, out)
	}
	base := filepath.Base(j.top)
	got := map[string]any{}
	for _, s := range out["summary"].(map[string]any)["skipped"].([]any) {
		m := s.(map[string]any)
		got[m["path"].(string)] = m["reason"]
	}
	for p, want := range map[string]string{
		base + "/data":                 "in the data directory, which is never ingested",
		base + "/kb/docs/key.txt":      "in the data directory, which is never ingested",
		base + "/kb/docs/hard-key.txt": "in the data directory, which is never ingested",
	} {
		if got[p] != want {
			t.Errorf("%s: %v, want %q (all skipped: %v)", p, got[p], want, got)
		}
	}
	assertNothingSecret(t, ix, true) // the outside folder is in this root
	code, out = apiCall(t, srv, "POST", "/api/knowledge/ingest", testToken, ingestBody(filepath.Join(j.data, "secret.key")))
	if code != http.StatusBadRequest {
		t.Fatalf("the key by name: %d %v", code, out)
	}
}

func TestServerAccessChecksTheRoots(t *testing.T) {
	j := newJail(t)
	for _, c := range []struct {
		root, want string
	}{
		{filepath.Join(j.data, "kb"), "is inside the data directory"},
		{j.data, "is inside the data directory"},
		{filepath.Join(j.top, "nope"), "does not exist or cannot be read; create the folder or correct the path"},
		{filepath.Join(j.outside, "passwd"), "is not a folder"},
		{"", "must name a folder"},
	} {
		if c.root == filepath.Join(j.data, "kb") {
			if err := os.MkdirAll(c.root, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ServerAccess([]string{c.root}, j.data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("root %q: %v, want %q", c.root, err, c.want)
		}
	}
}

// The check resolves links, the read goes through os.Root: a folder swapped
// for a link to outside between the two is still not read.
func TestIngestReadThroughRootSurvivesASwappedLink(t *testing.T) {
	j := newJail(t)
	access, err := ServerAccess([]string{j.root}, j.data)
	if err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(j.root, "docs", "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "a.md"), []byte("# A\n\nharmless"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(j.outside, "a.md"), []byte("# A\n\n"+passwdLine), 0o600); err != nil {
		t.Fatal(err)
	}
	arg, err := access.resolveArg(sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer arg.scope.close()
	var sum Summary
	files := walk(arg, &sum)
	if len(files) != 1 {
		t.Fatalf("found %+v", files)
	}
	// The swap, after the check.
	if err := os.RemoveAll(sub); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(j.outside, sub); err != nil {
		t.Fatal(err)
	}
	if b, err := files[0].scope.readFile(files[0].real, 1<<20); err == nil {
		t.Fatalf("read %q through a link swapped in after the check", b)
	}
}

// The local CLI reads what its user can, but a link out of the folder it
// was given only with --follow-symlinks, and never the data directory.
func TestLocalIngestFollowsLinksOutOnlyWhenAsked(t *testing.T) {
	j := newJail(t)
	docs := filepath.Join(j.root, "docs")
	ix := openIndex(t, openStore(t, t.TempDir()), newTestEmbedder(), Options{})
	sum, err := ix.Ingest(context.Background(), []string{docs}, IngestOptions{Access: LocalAccess(j.data, false)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"docs/passwd.txt": "symbolic link to outside the folder given (--follow-symlinks follows it)",
		"docs/etc":        "symbolic link to outside the folder given (--follow-symlinks follows it)",
		"docs/key.txt":    "in the data directory, which is never ingested",
		"docs/LICENSE":    "no file extension (name the file itself to ingest it as text)",
	}
	if got := skippedReasons(sum); !reflect.DeepEqual(got, want) || sum.Added != 2 {
		t.Fatalf("without --follow-symlinks: added %d, skipped\n got %v\nwant %v", sum.Added, got, want)
	}
	sum, err = ix.Ingest(context.Background(), []string{docs}, IngestOptions{Access: LocalAccess(j.data, true)})
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]string{
		"docs/key.txt": "in the data directory, which is never ingested",
		"docs/LICENSE": "no file extension (name the file itself to ingest it as text)",
	}
	if got := skippedReasons(sum); !reflect.DeepEqual(got, want) || sum.Added != 2 || sum.Unchanged != 2 {
		t.Fatalf("with --follow-symlinks: %+v, skipped %v", sum, got)
	}
	if _, err := ix.Ingest(context.Background(), []string{filepath.Join(j.data, "secret.key")}, IngestOptions{Access: LocalAccess(j.data, true)}); err == nil ||
		!strings.Contains(err.Error(), "never ingested") {
		t.Fatalf("the key named locally: %v", err)
	}
}
