package server

import "testing"

func TestCheckAddrAccepts(t *testing.T) {
	for _, a := range []string{":8080", "127.0.0.1:0", "0.0.0.0:65535", "[::1]:8080", "localhost:1"} {
		if err := checkAddr(a); err != nil {
			t.Errorf("checkAddr(%q) = %v, want nil", a, err)
		}
	}
}
