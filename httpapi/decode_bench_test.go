package httpapi

import (
	"testing"
)

// incomingShape is the incoming webhook's body (DESIGN.md), decoded the way
// the handlers decode: strictly, unknown fields refused.
type incomingShape struct {
	UserID         string         `json:"user_id"`
	Username       string         `json:"username"`
	Message        string         `json:"message"`
	Platform       string         `json:"platform"`
	ConversationID string         `json:"conversation_id"`
	Timestamp      string         `json:"timestamp"`
	MessageID      string         `json:"message_id"`
	Metadata       map[string]any `json:"metadata"`
}

var incomingBody = []byte(`{"user_id": "external_user_123", "username": "John Doe",
 "message": "Hello, I need help with my account: how do I reset my password?",
 "platform": "freshchat", "conversation_id": "conv_456",
 "timestamp": "2025-01-19T12:00:00Z", "message_id": "msg-000123",
 "metadata": {"channel": "web", "user_agent": "Mozilla/5.0", "custom_fields": {}}}`)

func BenchmarkUnmarshalIncoming(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(incomingBody)))
	for b.Loop() {
		var in incomingShape
		if err := Unmarshal(incomingBody, &in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalIncomingUnknownField(b *testing.B) {
	body := []byte(`{"user_id":"u","message":"m","conversation_id":"c","extra":1}`)
	b.ReportAllocs()
	for b.Loop() {
		var in incomingShape
		if err := Unmarshal(body, &in); err == nil {
			b.Fatal("unknown field accepted")
		}
	}
}

func TestIncomingShapeDecodes(t *testing.T) {
	var in incomingShape
	if err := Unmarshal(incomingBody, &in); err != nil {
		t.Fatal(err)
	}
	if in.UserID != "external_user_123" || in.MessageID != "msg-000123" || in.Metadata["channel"] != "web" {
		t.Fatalf("decoded %+v", in)
	}
}

// BenchmarkDuplicateKeyScan is the duplicate-key scan alone on the
// incoming body (Unmarshal runs it after decoding).
func BenchmarkDuplicateKeyScan(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(incomingBody)))
	for b.Loop() {
		if k, dup := duplicateKey(incomingBody); dup {
			b.Fatal(k)
		}
	}
}
