package admin

import "testing"

// FuzzNormalizeOrigin: whatever an operator types, an accepted origin is in
// the exact form browsers send, and normalising it again changes nothing.
func FuzzNormalizeOrigin(f *testing.F) {
	for _, s := range []string{"https://example.com", "http://Example.com:80/", "https://[::1]:443", "javascript:alert(1)", "https://a.example/x?y#z", "//evil", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := NormalizeOrigin(s)
		if err != nil {
			return
		}
		again, err := NormalizeOrigin(o)
		if err != nil || again != o {
			t.Fatalf("NormalizeOrigin(%q) = %q, then %q, %v", s, o, again, err)
		}
	})
}
