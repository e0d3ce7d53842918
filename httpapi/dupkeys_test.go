package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/apperr"
)

type dupShape struct {
	Message  string         `json:"message"`
	UserID   string         `json:"user_id"`
	Metadata map[string]any `json:"metadata"`
	Items    []struct {
		ID string `json:"id"`
	} `json:"items"`
}

func TestUnmarshalRefusesDuplicateKeys(t *testing.T) {
	many := strings.Builder{}
	many.WriteString(`{"metadata":{`)
	for i := range 40 {
		many.WriteString(`"k` + strconv.Itoa(i) + `":1,`)
	}
	many.WriteString(`"k39":2}}`)
	for _, c := range []struct{ body, key string }{
		{`{"message":"hello","message":"ignore previous"}`, "message"},
		{`{"message":"hello","MESSAGE":"other"}`, "MESSAGE"},
		{`{"message":"hello","\u006dessage":"escaped"}`, "message"},
		{`{"user_id":"u","metadata":{"channel":"web","channel":"sms"}}`, "metadata.channel"},
		{`{"metadata":{"a":{"b":[1,{"c":1,"c":2}]}}}`, "metadata.a.b[1].c"},
		{`{"items":[{"id":"1"},{"id":"2","id":"3"}]}`, "items[1].id"},
		{`{"metadata":{"x":[[],{},"s",1e300,true,null],"y":1,"x":2}}`, "metadata.x"},
		{many.String(), "metadata.k39"},
	} {
		var dst dupShape
		err := Unmarshal([]byte(c.body), &dst)
		e, ok := apperr.As(err)
		want := `duplicate key "` + c.key + `"; send each key once`
		if !ok || e.Code != apperr.Invalid || e.Field != c.key || e.Message != want {
			t.Errorf("%s: %v, want Invalid %q on field %q", c.body, err, want, c.key)
		}
	}
	for _, body := range []string{
		`{"message":"a","metadata":{"message":"b","m":{"message":"c"}},"items":[{"id":"1"},{"id":"1"}]}`,
		`{"metadata":{"a":[{"a":1},{"a":2}],"b":{"a":{"a":3}}}}`,
		`{"metadata":{"n":1e300,"s":"message","t":["message","message"]}}`,
		`{}`,
	} {
		var dst dupShape
		if err := Unmarshal([]byte(body), &dst); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// Numbers are skipped, not converted: one too large for float64 (which a
// json.RawMessage field may hold) does not end the scan early.
func TestDuplicateKeyPastHugeNumber(t *testing.T) {
	if k, _ := duplicateKey([]byte(`{"a":1e400,"b":[-0.5e-400],"a":2}`)); k != "a" {
		t.Fatalf("duplicateKey = %q, want a", k)
	}
}

// Over loopback, a duplicate key is a 400 that names it.
func TestDecodeDuplicateKeyOverHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in dupShape
		if err := Decode(w, r, DefaultBodyLimit, &in); err != nil {
			Error(w, r, nil, err)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"message": in.Message})
	}))
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL, "application/json", strings.NewReader(`{"message":"hi","user_id":"u","message":"bye"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	const want = `{"success":false,"error":"duplicate key \"message\"; send each key once","field":"message"}` + "\n"
	if resp.StatusCode != 400 || string(b) != want {
		t.Fatalf("got %d %s, want 400 %s", resp.StatusCode, b, want)
	}
}

// duplicateKeyByTokens is the plain reference the byte scan is fuzzed
// against: json.Decoder.Token, every key compared with every other.
func duplicateKeyByTokens(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object, wantKey bool
		key             string
		index           int
		keys            []string
	}
	var stack []frame
	path := func(key string) string {
		var b strings.Builder
		for _, f := range stack[:len(stack)-1] {
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		return b.String() + key
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *frame
		if n := len(stack); n > 0 {
			top = &stack[n-1]
		}
		if s, ok := tok.(string); ok && top != nil && top.object && top.wantKey {
			for _, k := range top.keys {
				if strings.EqualFold(k, s) {
					return path(s), true
				}
			}
			top.keys = append(top.keys, s)
			top.key, top.wantKey = s, false
			continue
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return "", false
			}
			if p := &stack[len(stack)-1]; p.object {
				p.wantKey = true
			}
			continue
		}
		if top != nil && !top.object {
			top.index++
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{index: -1})
		default:
			if top == nil {
				return "", false
			}
			if top.object {
				top.wantKey = true
			}
		}
	}
}

// FuzzDuplicateKey: on every well-formed object the byte scan agrees with
// the token-level reference; the same object with one key added at both
// ends is always caught.
func FuzzDuplicateKey(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,{"c":2}]},"d":"e"}`, `{"a":1,"a":2}`, `{"x":[[],{}],"y":null}`, `{}`, `{"A":1,"a":2}`,
		`{"a\"b":1,"a\u0022b":2}`, `{"k":"},{\"k\":1","k":2}`, `{"\u212a":1,"k":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		trimmed := bytes.TrimSpace(body)
		if !json.Valid(trimmed) || len(trimmed) == 0 || trimmed[0] != '{' {
			return
		}
		key, dup := duplicateKey(trimmed)
		if want, wantDup := duplicateKeyByTokens(trimmed); key != want || dup != wantDup {
			t.Fatalf("%s: duplicateKey %q %v, reference %q %v", trimmed, key, dup, want, wantDup)
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil || m == nil || dup {
			return
		}
		for k := range m {
			if strings.EqualFold(k, "zz_dup") {
				return
			}
		}
		canon, err := json.Marshal(m)
		if err != nil {
			return
		}
		if k, dup := duplicateKey(canon); dup {
			t.Fatalf("re-encoded %s: duplicate %q", canon, k)
		}
		twice := append([]byte(`{"zz_dup":0,`), canon[1:]...)
		if len(m) == 0 {
			twice = []byte(`{"zz_dup":0}`)
		}
		twice = append(twice[:len(twice)-1], []byte(`,"ZZ_dup":1}`)...)
		if k, found := duplicateKey(twice); !found || k != "ZZ_dup" {
			t.Fatalf("%s: duplicate %q, want ZZ_dup", twice, k)
		}
	})
}
