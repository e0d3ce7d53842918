package cmd

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// newHealthcheckCommand is the container's HEALTHCHECK: the image has no
// shell, curl or wget (distroless), so the binary asks /readyz itself.
func newHealthcheckCommand(e env) *cobra.Command {
	var (
		addr     string
		useTLS   bool
		deadline time.Duration
	)
	c := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the local server answers /readyz (for container health checks)",
		Long: `Ask the server on --addr (CHATBOT_ADDR) for /readyz and exit 0 when it is
ready or degraded (answering extractively while Ollama is down), 1 otherwise.
The Dockerfile's HEALTHCHECK runs it.`,
		Example: `  chatbot healthcheck
  chatbot healthcheck --addr 127.0.0.1:8443 --tls`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			status, err := probeReady(cmd.Context(), addr, useTLS, deadline)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), status)
			return nil
		},
	}
	c.Flags().StringVar(&addr, "addr", e.or("CHATBOT_ADDR", "127.0.0.1:8080"), "the server's listen address; :8080 means this host (env CHATBOT_ADDR)")
	c.Flags().BoolVar(&useTLS, "tls", e("CHATBOT_TLS_CERT") != "", "the server serves HTTPS (its certificate is not verified: this asks the local process); default: when CHATBOT_TLS_CERT is set")
	c.Flags().DurationVar(&deadline, "timeout", 5*time.Second, "how long to wait for the answer")
	return c
}

func probeReady(ctx context.Context, addr string, useTLS bool, deadline time.Duration) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--addr %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	scheme := "http"
	tr := &http.Transport{}
	if useTLS {
		scheme = "https"
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the local process, by address
	}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return "", err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", fmt.Errorf("not healthy: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &body) != nil ||
		(body.Status != "ready" && body.Status != "degraded") {
		return "", fmt.Errorf("not healthy: /readyz answered %d %s", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	return body.Status, nil
}
