package rag

import (
	"path/filepath"
	"testing"
)

// FuzzServerArg: whatever path a caller sends, the server either refuses it
// or resolves it to somewhere below the root and outside the data
// directory (the layout of newJail: links out, to the key, inside).
func FuzzServerArg(f *testing.F) {
	for _, s := range []string{"kb/docs", "kb/docs/../../outside/passwd", "kb/docs/passwd.txt", "kb/docs/etc/shadow.md",
		"kb/docs/key.txt", "data/secret.key", "kb/../data", "kb/./docs//guide.md", "kb/docs/same-guide.md", "/", "", "..", "kb/docs/\x00"} {
		f.Add(s)
	}
	j := newJail(f)
	f.Fuzz(func(t *testing.T, rel string) {
		access, err := ServerAccess([]string{j.root}, j.data)
		if err != nil {
			t.Fatal(err)
		}
		arg, err := access.resolveArg(filepath.Join(j.top, rel), nil)
		if err != nil {
			return
		}
		defer arg.scope.close()
		if !within(arg.real, j.root) || within(arg.real, j.data) {
			t.Fatalf("%q resolved to %s, outside %s or in %s", rel, arg.real, j.root, j.data)
		}
		var sum Summary
		for _, fd := range walk(arg, &sum) {
			if !within(fd.real, j.root) || within(fd.real, j.data) {
				t.Fatalf("%q: walk found %s", rel, fd.real)
			}
		}
	})
}
