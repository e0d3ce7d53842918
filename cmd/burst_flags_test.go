package cmd

import (
	"strings"
	"testing"
	"time"
)

// --burst-window defaults to 1.5s, CHATBOT_BURST_WINDOW sets it (0 turns
// bursts off), the flag wins over the env, and a negative window is
// refused naming the flag.
func TestBurstWindowFlagAndEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want time.Duration
	}{
		{"default", nil, nil, 1500 * time.Millisecond},
		{"env off", map[string]string{"CHATBOT_BURST_WINDOW": "0"}, nil, 0},
		{"env", map[string]string{"CHATBOT_BURST_WINDOW": "3s"}, nil, 3 * time.Second},
		{"flag wins", map[string]string{"CHATBOT_BURST_WINDOW": "3s"}, []string{"--burst-window", "250ms"}, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"CHATBOT_ADMIN_TOKEN": "admin-token-0123456789abcdef"}
			for k, v := range tt.env {
				vars[k] = v
			}
			args := append([]string{"--data-dir", t.TempDir()}, tt.args...)
			cfg, err := deliveryServeConfig(mapEnv(vars), args...)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.BurstWindow != tt.want {
				t.Fatalf("burst window = %v, want %v", cfg.BurstWindow, tt.want)
			}
		})
	}
	_, err := deliveryServeConfig(mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": "admin-token-0123456789abcdef"}),
		"--data-dir", t.TempDir(), "--burst-window", "-1s")
	if err == nil || !strings.Contains(err.Error(), "--burst-window must be 0 (off) or a positive duration") {
		t.Fatalf("negative window: %v", err)
	}
}
