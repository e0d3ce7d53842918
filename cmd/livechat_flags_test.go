package cmd

import (
	"strings"
	"testing"
)

func TestServeRejectsBadLiveChatFlags(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--livechat-no-agent", "wait"}, nil, "--livechat-no-agent must be notify or close"},
		{nil, map[string]string{"CHATBOT_LIVECHAT_NO_AGENT": "ignore"}, "--livechat-no-agent"},
		{[]string{"--livechat-timeout", "-1s"}, nil, "--livechat-timeout must not be negative"},
	}
	for _, c := range cases {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, c.args...)
		_, _, err := run(t, mapEnv(c.env), args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %v env %v: error %v, want it to mention %q", c.args, c.env, err, c.want)
		}
	}
}
