package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/apperr"
)

type sample struct {
	Name  *string `json:"name"`
	Count *int    `json:"count"`
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name, ctype, body string
		code              apperr.Code
		field, msg        string
	}{
		{"ok", "application/json", `{"name":"a","count":2}`, "", "", ""},
		{"charset ok", "application/json; charset=utf-8", `{"name":"a"}`, "", "", ""},
		{"empty", "application/json", ``, apperr.Invalid, "", "empty"},
		{"not object", "application/json", `[1,2]`, apperr.Invalid, "", "JSON object"},
		{"malformed", "application/json", `{"name":`, apperr.Invalid, "", "malformed"},
		{"trailing", "application/json", `{"name":"a"} {}`, apperr.Invalid, "", "after the JSON object"},
		{"unknown field", "application/json", `{"nmae":"a"}`, apperr.Invalid, "nmae", "unknown field"},
		{"wrong type", "application/json", `{"count":"two"}`, apperr.Invalid, "count", "must be a number"},
		{"wrong content type", "text/plain", `{}`, apperr.Unsupported, "", "application/json"},
		{"no content type", "", `{}`, apperr.Unsupported, "", "application/json"},
		{"deep nesting", "application/json", `{"name":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, apperr.Invalid, "", "malformed"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", 2000) + `"}`, apperr.TooLarge, "", "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.body))
			if c.ctype != "" {
				r.Header.Set("Content-Type", c.ctype)
			}
			var dst sample
			err := Decode(httptest.NewRecorder(), r, 1024+int64(len(c.body))*boolInt(c.name != "too large"), &dst)
			if c.code == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != c.code {
				t.Fatalf("error = %v, want code %s", err, c.code)
			}
			if e.Field != c.field {
				t.Errorf("field = %q, want %q", e.Field, c.field)
			}
			if !strings.Contains(e.Message, c.msg) {
				t.Errorf("message %q does not contain %q", e.Message, c.msg)
			}
		})
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func TestBearerToken(t *testing.T) {
	cases := []struct {
		headers []string
		token   string
		ok      bool
	}{
		{nil, "", false},
		{[]string{"Bearer abc"}, "abc", true},
		{[]string{"bearer abc"}, "abc", true},
		{[]string{"Basic abc"}, "", false},
		{[]string{"Token abc"}, "", false},
		{[]string{"Bearer "}, "", false},
		{[]string{"Bearer a", "Bearer b"}, "", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, h := range c.headers {
			r.Header.Add("Authorization", h)
		}
		tok, err := BearerToken(r)
		if (err == nil) != c.ok || tok != c.token {
			t.Errorf("headers %q: token %q err %v", c.headers, tok, err)
		}
		if err != nil && apperr.CodeOf(err) != apperr.Unauthorized {
			t.Errorf("headers %q: code %s", c.headers, apperr.CodeOf(err))
		}
	}
}

func TestErrorHidesInternalCauses(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	Error(rec, r, nil, apperr.Wrap(apperr.Internal, errTest("db password=hunter2"), "storage"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "hunter2") {
		t.Fatalf("internal error leaked: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	Error(rec, r, nil, &apperr.Error{Code: apperr.RateLimited, Message: "slow down", RetryAfterSeconds: 7})
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "7" {
		t.Fatalf("rate limited: %d Retry-After=%q", rec.Code, rec.Header().Get("Retry-After"))
	}
	rec = httptest.NewRecorder()
	Error(rec, r, nil, apperr.New(apperr.Unauthorized, "no"))
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("unauthorized: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }
