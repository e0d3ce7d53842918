package cmd

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// deliveryServeConfig layers defaults, env and args as `chatbot serve` does: the
// serve flags with env defaults (bindServe), the env check of the root
// command (checkEnv), then the one validation (finish).
func deliveryServeConfig(e env, args ...string) (config, error) {
	var cfg config
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bindServe(fs, e, &cfg)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if err := checkEnv(fs, e); err != nil {
		return cfg, err
	}
	return cfg, finish(&cfg, e)
}

// workerRetry reads the retry policy the app's delivery worker was built
// with. The worker keeps its options unexported, so the test reads them
// through reflect (reading, not setting, unexported fields is allowed).
func workerRetry(t *testing.T, a *app) (base, ceiling time.Duration) {
	t.Helper()
	retry := reflect.ValueOf(a.worker).Elem().FieldByName("opts").FieldByName("Retry")
	if !retry.IsValid() {
		t.Fatal("webhook.Worker has no opts.Retry field any more; update this test")
	}
	return time.Duration(retry.FieldByName("Base").Int()), time.Duration(retry.FieldByName("Cap").Int())
}

// CHATBOT_RETRY_CAP and CHATBOT_RETRY_BASE reach the delivery worker of
// the served app; --retry-cap on the command line wins over the env.
func TestRetryEnvReachesTheDeliveryWorker(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		base, cap time.Duration
	}{
		{"defaults", nil, nil, time.Second, 10 * time.Minute},
		{"env", map[string]string{"CHATBOT_RETRY_CAP": "7s", "CHATBOT_RETRY_BASE": "250ms"}, nil, 250 * time.Millisecond, 7 * time.Second},
		{"env cap only", map[string]string{"CHATBOT_RETRY_CAP": "42s"}, nil, time.Second, 42 * time.Second},
		{"flag wins", map[string]string{"CHATBOT_RETRY_CAP": "7s"}, []string{"--retry-cap", "9s"}, time.Second, 9 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"CHATBOT_ADMIN_TOKEN": "admin-token-0123456789abcdef"}
			for k, v := range tt.env {
				vars[k] = v
			}
			args := append([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--llm", "none", "--embedder", "builtin"}, tt.args...)
			cfg, err := deliveryServeConfig(mapEnv(vars), args...)
			if err != nil {
				t.Fatal(err)
			}
			a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			base, ceiling := workerRetry(t, a)
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // Run starts and at once shuts down in order, closing the store
			if err := a.Run(ctx); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if base != tt.base || ceiling != tt.cap {
				t.Fatalf("worker retry base %v cap %v, want %v and %v", base, ceiling, tt.base, tt.cap)
			}
		})
	}
}

// A cap below the base is refused whichever layer set it.
func TestRetryCapBelowBaseIsRefused(t *testing.T) {
	for _, e := range []map[string]string{
		{"CHATBOT_RETRY_CAP": "500ms"},                             // default base 1s
		{"CHATBOT_RETRY_BASE": "2m", "CHATBOT_RETRY_CAP": "1m"},    // both from env
		{"CHATBOT_RETRY_CAP": "10m", "CHATBOT_RETRY_BASE": "soon"}, // malformed base
		{"CHATBOT_RETRY_CAP": "ten minutes"},                       // malformed cap
	} {
		_, err := deliveryServeConfig(mapEnv(e), "--data-dir", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "retry-") {
			t.Errorf("env %v: err %v, want one naming --retry-base or --retry-cap", e, err)
		}
	}
}
