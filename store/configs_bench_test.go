package store_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// openWithConfigs opens a store with n sealed configs and returns the
// incoming token hash of the last one.
func openWithConfigs(b *testing.B, n int) (*store.Store, string) {
	b.Helper()
	box, err := secret.NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(b.TempDir(), store.Options{Sealer: box, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	var hash string
	for i := range n {
		hash = secret.Hash(fmt.Sprintf("cbi_token_%d", i))
		c := &store.WebhookConfig{Name: fmt.Sprintf("config %d", i), Provider: "freshchat",
			OutgoingURL: "https://example.com/hook", AuthToken: "outgoing-bearer-token",
			CustomHeaders:  map[string]string{"X-API-Key": "k", "X-Platform": "freshchat"},
			TimeoutSeconds: 30, RetryAttempts: 3, IsActive: true, ResponseMode: "sync",
			IncomingTokenHash: hash, IncomingTokenLast4: "1234", SigningSecret: secret.NewSigningSecret()}
		if err := st.CreateConfig(c); err != nil {
			b.Fatal(err)
		}
	}
	return st, hash
}

// BenchmarkConfigByTokenHash is the auth lookup of every incoming webhook:
// index get, record decode and three secrets unsealed.
func BenchmarkConfigByTokenHash(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("configs=%d", n), func(b *testing.B) {
			st, hash := openWithConfigs(b, n)
			b.ReportAllocs()
			for b.Loop() {
				c, err := st.ConfigByTokenHash(hash)
				if err != nil || c.IncomingTokenHash != hash {
					b.Fatalf("lookup: %v", err)
				}
			}
		})
	}
}

func BenchmarkConfigByTokenHashParallel(b *testing.B) {
	st, hash := openWithConfigs(b, 10)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := st.ConfigByTokenHash(hash); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkConfigByTokenHashMiss(b *testing.B) {
	st, _ := openWithConfigs(b, 10)
	miss := secret.Hash("not a token")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.ConfigByTokenHash(miss); err == nil {
			b.Fatal("unknown token found")
		}
	}
}
