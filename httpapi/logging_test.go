package httpapi

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chatbot/chatbot/apperr"
)

// syncBuffer is a log sink the server's goroutines may write concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// One access-log line per request, at INFO below 500 and WARN from 500;
// a panic is a 500 in the envelope, logged without the panic reaching the
// client; internal errors are logged by Error, client errors are not.
func TestLoggingAndErrorLog(t *testing.T) {
	var out syncBuffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "fine") })
	mux.HandleFunc("/bad", func(w http.ResponseWriter, r *http.Request) { Error(w, r, log, apperr.Invalidf("x", "x is wrong")) })
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) { Error(w, r, log, errors.New("disk on fire")) })
	mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	srv := httptest.NewServer(Logging(log)(mux))
	defer srv.Close()
	get := func(path string) (int, string, string) {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("X-Request-Id")
	}
	if code, body, id := get("/ok"); code != 200 || body != "fine" || len(id) != 16 {
		t.Fatalf("/ok: %d %q id %q", code, body, id)
	}
	if code, _, _ := get("/bad"); code != 400 {
		t.Fatalf("/bad: %d", code)
	}
	code, body, id := get("/broken")
	if code != 500 || body != `{"success":false,"error":"internal error; the server log has details (request id `+id+`)"}`+"\n" {
		t.Fatalf("/broken: %d %q", code, body)
	}
	if code, body, _ := get("/panic"); code != 500 || strings.Contains(body, "boom") {
		t.Fatalf("/panic: %d %q", code, body)
	}
	logs := out.String()
	for _, want := range []string{
		`level=INFO msg="http request" request_id=`, `path=/ok status=200 bytes=4`,
		`path=/bad status=400`, `level=WARN msg="http request"`, `path=/broken status=500`,
		`level=ERROR msg="request failed" request_id=` + id, `err="disk on fire"`,
		`msg="panic in handler"`, `path=/panic status=500`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "x is wrong") {
		t.Errorf("a client error was logged as a failure:\n%s", logs)
	}
}
