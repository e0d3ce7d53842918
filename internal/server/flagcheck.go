package server

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// checkAddr validates --addr without touching the network, so a typo is
// reported before the data directory is opened, naming the flag and the
// fix (net.Listen's own error says "invalid port" and the serve wrapper
// then guessed at a port in use).
func checkAddr(addr string) error {
	const fix = "give host:port such as 127.0.0.1:8080 or :8080 (env CHATBOT_ADDR)"
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q is not host:port: %s", addr, fix)
	}
	if strings.ContainsAny(host, " /\\") {
		return fmt.Errorf("--addr %q: the host %q is not a host name or IP address: %s", addr, host, fix)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("--addr %q: the port must be a number from 1 to 65535 (0 picks a free one), not %q: %s", addr, port, fix)
	}
	return nil
}

// checkEmbedderFlag validates --embedder by name; choosing among the
// servers needs the data directory and happens later.
func checkEmbedderFlag(mode string) error {
	switch mode {
	case "", "auto", "builtin", "ollama", "openai":
		return nil
	}
	return fmt.Errorf("--embedder must be auto, builtin, ollama or openai, not %q", mode)
}
