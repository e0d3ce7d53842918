package webhook

import (
	"testing"
	"time"
)

// The known-answer vector of the Standard Webhooks reference library
// (libraries/go/webhook_test.go, TestWebhookSign).
func TestSignKnownAnswer(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	ts := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	got, err := Sign(secret, id, ts, body)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	if err := Verify(secret, id, "1614265330", "v0,bogus "+got, body, ts, 5*time.Minute); err != nil {
		t.Fatalf("Verify of the vector: %v", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	good, _ := Sign(secret, "msg_1", now, body)
	tests := []struct {
		name, id, ts, sig string
		body              []byte
	}{
		{"re-serialized body", "msg_1", "1614265330", good, []byte(`{"test":2432232314}`)},
		{"other id", "msg_2", "1614265330", good, body},
		{"id with a dot", "msg.1", "1614265330", good, body},
		{"timestamp 5 min + 1 s old", "msg_1", "1614265029", good, body},
		{"timestamp in the future", "msg_1", "1614265631", good, body},
		{"float timestamp", "msg_1", "1614265330.0", good, body},
		{"empty v1 signature", "msg_1", "1614265330", "v1,", body},
		{"unknown version only", "msg_1", "1614265330", "v2," + good[3:], body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(secret, tt.id, tt.ts, tt.sig, tt.body, now, 5*time.Minute); err == nil {
				t.Error("Verify accepted it")
			}
		})
	}
	if _, err := Sign("whsec_***", "msg_1", now, body); err == nil {
		t.Error("Sign accepted a secret that is not base64")
	}
}
