package cmd

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kill -9 in the middle of a backup leaves nothing under the backup's name
// (at most a .partial file), and the next backup to that name succeeds.
func TestBackupKilledMidwayLeavesNoFileUnderItsName(t *testing.T) {
	src := seedDataDir(t)
	snapshot, _ := backupOf(t, src, nil)
	data, err := os.ReadFile(snapshot)
	if err != nil {
		t.Fatal(err)
	}
	// A server that streams half the backup, then holds the connection
	// until the test has killed the client.
	halfSent := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		close(halfSent)
		<-release
	}))
	defer srv.Close()
	defer close(release)

	out := filepath.Join(t.TempDir(), "killed.backup")
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "CHATBOT_TEST_EXEC_ARGS="+strings.Join([]string{"backup", "--out", out, "--server", srv.URL, "--data-dir", t.TempDir()}, "\x1f"),
		"CHATBOT_ADMIN_TOKEN="+backupAdmin)
	var stderr bytes.Buffer
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	<-halfSent // the child has its .partial file open and is receiving
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("after kill -9 a file exists under the backup's name (%v); child said %s", err, stderr.String())
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "killed.backup.partial-") {
			t.Fatalf("unexpected %s left by the killed backup", e.Name())
		}
	}
	if _, _, err := run(t, mapEnv(nil), "backup", "--out", out, "--data-dir", src); err != nil {
		t.Fatalf("the next backup to the same name: %v", err)
	}
}

// A server that cuts the stream half-way (its snapshot failed) makes the
// backup fail, saying so, with nothing left behind.
func TestBackupStreamCutByTheServer(t *testing.T) {
	src := seedDataDir(t)
	snapshot, _ := backupOf(t, src, nil)
	data, err := os.ReadFile(snapshot)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // what serveHTTP does when WriteSnapshot fails
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "cut.backup")
	_, _, err = run(t, mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": backupAdmin}), "backup", "--out", out, "--server", srv.URL, "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "the stream broke after") {
		t.Fatalf("err = %v, want the broken stream named", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}
