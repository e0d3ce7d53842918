package tools

import (
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	tpl, err := ParseTemplate("Order {order_id} is {status.text}; you are {{user_id}}.")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tpl.Names(false), ","); got != "order_id,status.text" {
		t.Errorf("names: %q", got)
	}
	if got := strings.Join(tpl.Names(true), ","); got != "user_id" {
		t.Errorf("identity names: %q", got)
	}
	out, err := tpl.Render(func(name string, identity bool, _ string) (string, bool) {
		return map[string]string{"order_id": "42", "status.text": "shipped", "user_id": "u7"}[name], true
	})
	if err != nil || out != "Order 42 is shipped; you are u7." {
		t.Fatalf("render: %q %v", out, err)
	}
	_, err = tpl.Render(func(name string, _ bool, _ string) (string, bool) { return "", name != "status.text" })
	if err == nil || err.Error() != "no value for {status.text}" {
		t.Fatalf("missing value: %v", err)
	}
}

func TestParseTemplateErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a } b", "has a '}' without its '{' at byte 2"},
		{"a {b", `has a "{" without its "}" at byte 2`},
		{"a {{b}", `has a "{{" without its "}}" at byte 2`},
		{"{a b}", `has a placeholder "{a b}" at byte 0`},
		{"{}", `has a placeholder "{}" at byte 0`},
		{"{a.}", `has a placeholder "{a.}" at byte 0`},
		{strings.Repeat("x", maxTemplateBytes+1), "is longer than 4096 bytes"},
	} {
		_, err := ParseTemplate(tc.in)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

// FuzzParseTemplate: any input parses or fails cleanly, and a parsed
// template rendered with its own placeholders written back is the input.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"", "plain", "{a}", "{{user_id}}", "x {a.b.c} y {{metadata.k}}", "{", "}}", "{{a}", "{a}}", "{{{a}}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := ParseTemplate(s)
		if err != nil {
			return
		}
		out, err := tpl.Render(func(name string, identity bool, _ string) (string, bool) {
			if identity {
				return "{{" + name + "}}", true
			}
			return "{" + name + "}", true
		})
		if err != nil {
			t.Fatalf("render of parsed %q: %v", s, err)
		}
		if out != s {
			t.Fatalf("round trip: %q became %q", s, out)
		}
	})
}
