package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/chatbot/chatbot/store"
)

// NativeSender delivers a stored outgoing message of a native integration
// through the platform's own reply API (package platform), making its
// requests with Sender.Call. The worker gives it the same queue, retries,
// Retry-After and per-conversation order as a webhook delivery.
type NativeSender interface {
	SendNative(ctx context.Context, cfg *store.WebhookConfig, m *store.Message) Result
}

// permanentRefusal are the answers of a platform's API that a retry
// cannot change: the credential is refused (401, 403), the conversation
// or account does not exist (404), the request is invalid (422).
var permanentRefusal = map[int]bool{
	http.StatusUnauthorized: true, http.StatusForbidden: true, http.StatusNotFound: true,
	http.StatusGone: true, http.StatusUnprocessableEntity: true,
}

// Call makes one request to a native integration's platform API under the
// delivery's rules: the address policy, the config's timeout, no
// redirects, at most MaxResponseBytes of the answer read (and returned on
// 2xx). Unlike a webhook delivery, a permanent refusal (401, 403, 404,
// 410, 422) fails at once, its error carrying the platform's message.
// Errors are scrubbed of the config's secrets.
func (s *Sender) Call(ctx context.Context, cfg *store.WebhookConfig, req *http.Request) (Result, []byte) {
	res, body := s.call(ctx, cfg, req)
	if res.Err != nil {
		res.Err = errors.New(newScrubber(cfg).scrub(res.Err.Error()))
	}
	return res, body
}

func (s *Sender) call(ctx context.Context, cfg *store.WebhookConfig, req *http.Request) (Result, []byte) {
	timeout := time.Duration(cfg.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = DefaultTimeoutSeconds * time.Second
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req = req.WithContext(ctx)
	req.Header.Set("User-Agent", s.ua)
	now := s.now()
	resp, err := s.client.Do(req)
	if err != nil {
		return Result{Duration: time.Since(start), Err: transportError(err, timeout), Permanent: isBlocked(err)}, nil
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, readErr := io.Copy(&buf, io.LimitReader(resp.Body, MaxResponseBytes))
	res := Result{StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now), Duration: time.Since(start)}
	snippet, _ := readCapped(bytes.NewReader(buf.Bytes()))
	what := req.Method + " " + req.URL.Path
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		if readErr != nil {
			res.Err = fmt.Errorf("%s: HTTP %d but the answer was cut off: %w", what, resp.StatusCode, transportError(readErr, timeout))
		}
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		res.Err = fmt.Errorf("%s: HTTP %d redirect not followed; set api_url to the final address", what, resp.StatusCode)
	case permanentRefusal[resp.StatusCode]:
		res.Err = fmt.Errorf("%s: HTTP %d, refused by the platform (not retried; check api_url, api_token and account)%s", what, resp.StatusCode, snippet)
		res.Permanent = true
	default:
		res.Err = fmt.Errorf("%s: HTTP %d%s", what, resp.StatusCode, snippet)
	}
	return res, buf.Bytes()
}
