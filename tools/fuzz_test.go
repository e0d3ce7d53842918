package tools

import (
	"testing"
	"unicode/utf8"
)

// FuzzAllowedFields: whatever an API answers, only allowed paths come out,
// each a bounded value without control characters but newlines.
func FuzzAllowedFields(f *testing.F) {
	for _, s := range []string{`{"status":"shipped","shipping":{"eta":"Friday"},"note":"x"}`, `[1,2]`, `{"status":null}`,
		`{"status":{"a":1}}`, `{"shipping":{"eta":12.5e3}}`, `{"status":"a\u0000b"}`, `{"status":"x"} trailing`, `"str"`} {
		f.Add([]byte(s))
	}
	allowed := []string{"status", "shipping.eta", "items.0.name"}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := allowedFields(data, allowed)
		if err != nil {
			return
		}
		for k, v := range out {
			if k != "status" && k != "shipping.eta" && k != "items.0.name" {
				t.Fatalf("field %q is not allowed", k)
			}
			if utf8.RuneCountInString(v) > maxFieldRunes+1 {
				t.Fatalf("field %q has %d runes", k, utf8.RuneCountInString(v))
			}
			for _, r := range v {
				if isControl(r) && r != '\n' {
					t.Fatalf("field %q has control character %U", k, r)
				}
			}
		}
	})
}

// FuzzModelArguments: a model's arguments become declared parameters with
// values that pass their patterns, or an error.
func FuzzModelArguments(f *testing.F) {
	for _, s := range []string{`{"order_id":"12345"}`, `{"order_id":12345}`, `{"order_id":"12"}`, `{"x":"1"}`, `[]`, `{"order_id":{"a":1}}`, `null`} {
		f.Add([]byte(s))
	}
	c, err := Compile(orderTool())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		params, err := c.arguments(raw)
		if err != nil {
			return
		}
		for k, v := range params {
			if k != "order_id" || !c.ValidValue(k, v) {
				t.Fatalf("accepted %q=%q", k, v)
			}
		}
	})
}
