package cmd

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bad --addr (or another flag checkable without I/O) is refused before
// the data directory is opened or created, with a message naming the flag
// and the fix (issue 14: the port was checked only at listen time and the
// message guessed "is another server using the port?").
func TestServeChecksFlagsBeforeOpeningAnything(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--addr", "127.0.0.1:99999"}, []string{`--addr "127.0.0.1:99999"`, "from 1 to 65535", `not "99999"`, "127.0.0.1:8080"}},
		{[]string{"--addr", "127.0.0.1"}, []string{`--addr "127.0.0.1" is not host:port`}},
		{[]string{"--addr", ":http-alt"}, []string{"the port must be a number"}},
		{[]string{"--addr", ":-1"}, []string{"from 1 to 65535"}},
		{[]string{"--addr", "127.0.0.1:0", "--embedder", "bert"}, []string{"--embedder must be auto, builtin, ollama or openai"}},
		{[]string{"--addr", "127.0.0.1:0", "--shutdown-timeout", "-1s"}, []string{"--shutdown-timeout must be a positive duration"}},
	}
	for _, c := range cases {
		dir := filepath.Join(t.TempDir(), "data")
		// A cancelled context: were the flags let through, serve would
		// open the data directory and stop at once instead of serving.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		root := newRootCommand(mapEnv(nil))
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		root.SetArgs(append([]string{"serve", "--data-dir", dir}, c.args...))
		err := root.ExecuteContext(ctx)
		if err == nil {
			t.Errorf("serve %v: no error", c.args)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("serve %v: error %q, want it to contain %q", c.args, err, w)
			}
		}
		if strings.Contains(err.Error(), "another server") {
			t.Errorf("serve %v: error %q guesses at a busy port", c.args, err)
		}
		if _, statErr := os.Stat(dir); !os.IsNotExist(statErr) {
			t.Errorf("serve %v: the data directory was created before the flags were checked (%v)", c.args, statErr)
		}
	}
}
