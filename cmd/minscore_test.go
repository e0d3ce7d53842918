package cmd

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestMinScoreFlagOnServe(t *testing.T) {
	for _, c := range []struct {
		env  string
		args []string
		want float64
		err  string
	}{
		{want: 0},
		{args: []string{"--min-score", "auto"}, want: 0},
		{args: []string{"--min-score", "0"}, want: 0},
		{args: []string{"--min-score", "0.3"}, want: 0.3},
		{env: "0.2", want: 0.2},
		{env: "0.2", args: []string{"--min-score", "AUTO"}, want: 0},
		{args: []string{"--min-score", "1.5"}, err: "between 0 and 1"},
		{args: []string{"--min-score", "-1"}, err: "between 0 and 1"},
		{args: []string{"--min-score", "high"}, err: `not "high"`},
	} {
		var cfg config
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		e := mapEnv(map[string]string{"CHATBOT_MIN_SCORE": c.env})
		bindServe(fs, e, &cfg)
		err := fs.Parse(c.args)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "min-score") {
				t.Errorf("env %q args %q: %v, want an error naming --min-score and %q", c.env, c.args, err, c.err)
			}
			continue
		}
		if err != nil || cfg.MinScore != c.want {
			t.Errorf("env %q args %q: %v, %v; want %v", c.env, c.args, cfg.MinScore, err, c.want)
		}
	}
	// A bad environment value is reported naming the variable and the flag.
	var cfg config
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	e := mapEnv(map[string]string{"CHATBOT_MIN_SCORE": "lots"})
	bindServe(fs, e, &cfg)
	if err := checkEnv(fs, e); err == nil || !strings.Contains(err.Error(), "CHATBOT_MIN_SCORE") || !strings.Contains(err.Error(), "--min-score") {
		t.Fatalf("CHATBOT_MIN_SCORE=lots: %v", err)
	}
}

// The server's threshold is the one serve was given: calibrated by
// default (an answerable question is answered, an off-topic one is not),
// or the explicit value (0.99: nothing passes).
func TestServeAppliesMinScore(t *testing.T) {
	const token = "admin-token-0123456789abcdef"
	for _, c := range []struct {
		minScore         float64
		answered, offAns bool
	}{{0, true, false}, {0.99, false, false}} {
		a, _ := startApp(t, config{AdminToken: token, Embedder: "builtin", KnowledgeRoots: []string{os.TempDir()}, MinScore: c.minScore})
		docs := writeTestDocs(t)
		e := mapEnv(map[string]string{"CHATBOT_DATA_DIR": a.cfg.DataDir, "CHATBOT_ADMIN_TOKEN": token})
		if out, _, err := run(t, e, "ingest", docs); err != nil {
			t.Fatalf("ingest: %v\n%s", err, out)
		}
		for q, want := range map[string]bool{"how do I reset my password?": c.answered, "what is the capital of France": c.offAns} {
			out, _, err := run(t, e, "ask", q)
			if err != nil {
				t.Fatal(err)
			}
			if got := !strings.Contains(out, "nothing relevant"); got != want {
				t.Errorf("--min-score %v, %q: answered %v, want %v\n%s", c.minScore, q, got, want, out)
			}
		}
	}
}
