package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/apperr"
)

// ClientIP walks X-Forwarded-For from the right past trusted proxies and
// stops at the first untrusted or garbled entry.
func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
	for _, c := range []struct{ remote, xff, want string }{
		{"203.0.113.1:5000", "198.51.100.1", "203.0.113.1"},                     // untrusted peer: its header is ignored
		{"127.0.0.1:5000", "", "127.0.0.1"},                                     // trusted peer, no header
		{"127.0.0.1:5000", "198.51.100.1", "198.51.100.1"},                      // one proxy
		{"127.0.0.1:5000", "192.0.2.7, 198.51.100.1, 10.1.2.3", "198.51.100.1"}, // the spoofable left part is skipped
		{"127.0.0.1:5000", "198.51.100.1, garbage, 10.1.2.3", "10.1.2.3"},       // garbled: trust nothing before it
		{"[::ffff:127.0.0.1]:5000", "::ffff:198.51.100.9", "198.51.100.9"},      // mapped addresses unmapped
		{"127.0.0.1:5000", "10.0.0.1, 10.0.0.2", "10.0.0.1"},                    // all trusted: the left-most
		{"not-an-address", "", "invalid IP"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := ClientIP(r, trusted).String(); got != c.want {
			t.Errorf("ClientIP(%s, XFF %q) = %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}

// A Content-Length of exactly the limit is accepted; one byte more is 413
// before the body is read.
func TestReadBodyLimitBoundary(t *testing.T) {
	body := `{"name":"abc"}`
	read := func(limit int64) error {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		_, err := ReadBody(httptest.NewRecorder(), r, limit)
		return err
	}
	if err := read(int64(len(body))); err != nil {
		t.Fatalf("body of exactly the limit: %v", err)
	}
	err := read(int64(len(body)) - 1)
	if e, ok := apperr.As(err); !ok || e.Code != apperr.TooLarge || e.Message != "request body is 14 bytes; the limit is 13" {
		t.Fatalf("one byte over: %v", err)
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	for _, c := range []struct {
		h    http.Handler
		want string
		code int
	}{
		{NotFound(), `{"success":false,"error":"no such endpoint: PATCH /x/y"}` + "\n", 404},
		{MethodNotAllowed(), `{"success":false,"error":"method PATCH is not allowed on /x/y"}` + "\n", 405},
	} {
		srv := httptest.NewServer(c.h)
		req, _ := http.NewRequest(http.MethodPatch, srv.URL+"/x/y", nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if resp.StatusCode != c.code || string(b) != c.want {
			t.Errorf("got %d %s, want %d %s", resp.StatusCode, b, c.code, c.want)
		}
	}
}

func TestQueryErrorAndKindNames(t *testing.T) {
	e, _ := apperr.As(QueryError("limit", "must be %d to %d", 1, 100))
	if e.Field != "limit" || e.Message != `query parameter "limit": must be 1 to 100` {
		t.Fatalf("QueryError: %+v", e)
	}
	for k, want := range map[string]string{"int": "a number", "float64": "a number", "bool": "true or false", "map": "an object",
		"struct": "an object", "slice": "an array", "string": "a string"} {
		if got := kindName(k); got != want {
			t.Errorf("kindName(%s) = %q, want %q", k, got, want)
		}
	}
}

// Scalars are skipped whole: a many-digit number or a literal in an array
// counts as one element of the path; an empty key is an ordinary key.
func TestDuplicateKeyPathsPastScalars(t *testing.T) {
	for _, c := range []struct {
		body, want string
		dup        bool
	}{
		{`{"x":[12345,true,null,"s",-0.5e+10,{"a":1,"a":2}]}`, "x[5].a", true},
		{`{"x":[false, 100 ,{"b":{"c":[{"d":1},{"d":2,"D":3}]}}]}`, "x[2].b.c[1].D", true},
		{`{"":1,"y":{"":2},"":3}`, "", true},
		{`{"y":{"":2}}`, "", false},
		{`{"a":1,"":2,"b":{"c":1,"":2}}`, "", false},
		{`{"y":{"":2,"z":[],"":4}}`, "y.", true},
	} {
		if got, dup := duplicateKey([]byte(c.body)); got != c.want || dup != c.dup {
			t.Errorf("duplicateKey(%s) = %q %v, want %q %v", c.body, got, dup, c.want, c.dup)
		}
	}
}

// Past the first 16 keys of an object keys are compared folded: a case
// variant of an early key is still caught.
func TestDuplicateKeyManyKeysFoldCase(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"m":{`)
	for i := range 20 {
		b.WriteString(`"key` + string(rune('a'+i)) + `":1,`)
	}
	b.WriteString(`"KEYC":2}}`)
	if got, dup := duplicateKey([]byte(b.String())); !dup || got != "m.KEYC" {
		t.Fatalf("duplicateKey = %q %v, want m.KEYC", got, dup)
	}
}

// A body cut short (never passed in by Unmarshal, which decodes first)
// ends the scan without a panic; a duplicate before the cut is found.
func TestDuplicateKeyTruncated(t *testing.T) {
	for _, c := range []struct {
		body, want string
		dup        bool
	}{
		{`{"a":[1,2`, "", false},
		{`{"a":12`, "", false},
		{`{"a":"abc`, "", false},
		{`{"a":"x\`, "", false},
		{`{"a":1,"b":true`, "", false},
		{`{"a":1,"a":tr`, "a", true},
	} {
		if got, dup := duplicateKey([]byte(c.body)); got != c.want || dup != c.dup {
			t.Errorf("duplicateKey(%s) = %q %v, want %q %v", c.body, got, dup, c.want, c.dup)
		}
	}
}
