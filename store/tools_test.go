package store

import (
	"bytes"
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/chatbot/chatbot/secret"
)

func TestToolLifecycleSealsSecret(t *testing.T) {
	box, err := secret.NewBox(bytes.Repeat([]byte{3}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := openTest(t, Options{Sealer: box, Now: func() time.Time { return clock }})

	tool := &ToolRecord{Name: "order_status", Spec: []byte(`{"method":"GET"}`), Secret: "sk_live_very_secret"}
	if err := s.CreateTool(tool); err != nil {
		t.Fatal(err)
	}
	if tool.ID != 1 || !tool.CreatedAt.Equal(clock) {
		t.Fatalf("created %+v", tool)
	}
	if err := s.CreateTool(&ToolRecord{Name: "Order_Status", Spec: []byte(`{}`)}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate name: got %v, want ErrConflict", err)
	}
	// The secret is sealed on disk: the raw record does not contain it.
	if err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketTools).Get(itob(1))
		if bytes.Contains(raw, []byte("sk_live_very_secret")) {
			t.Errorf("secret stored in the clear: %s", raw)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ToolByName("ORDER_STATUS")
	if err != nil || got.Secret != "sk_live_very_secret" || string(got.Spec) != `{"method":"GET"}` {
		t.Fatalf("by name: %+v %v", got, err)
	}
	clock = clock.Add(time.Minute)
	up, err := s.UpdateTool(1, func(t *ToolRecord) error { t.Name = "orders"; return nil })
	if err != nil || up.Name != "orders" || !up.UpdatedAt.Equal(clock) || up.Secret != "sk_live_very_secret" {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, err := s.ToolByName("order_status"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old name after rename: %v", err)
	}
	list, err := s.Tools()
	if err != nil || len(list) != 1 || list[0].Name != "orders" {
		t.Fatalf("list %+v %v", list, err)
	}
	if err := s.DeleteTool(1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tool(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := s.ToolByName("orders"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("name after delete: %v", err)
	}
}

func TestToolPendingPerConversation(t *testing.T) {
	s := openTest(t, Options{})
	a := ConvRef{ConfigID: 1, ConversationID: "c1"}
	b := ConvRef{ConfigID: 2, ConversationID: "c1"} // same id, another integration
	exp := time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)
	if err := s.SetToolPending(a, ToolPending{ToolID: 4, Tool: "orders", Params: map[string]string{"x": "1"}, Missing: "order_id", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	p, err := s.ToolPendingFor(a)
	if err != nil || p.ToolID != 4 || p.Missing != "order_id" || p.Params["x"] != "1" || !p.ExpiresAt.Equal(exp) {
		t.Fatalf("pending %+v %v", p, err)
	}
	if _, err := s.ToolPendingFor(b); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other integration's conversation: %v", err)
	}
	if err := s.DeleteToolPending(a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ToolPendingFor(a); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestToolCallsLogIsBounded(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	const keep = 5
	for i := 0; i < keep+3; i++ {
		if err := s.appendToolCall(&ToolCall{Tool: "orders", Status: 200, Outcome: "ok", Params: map[string]string{}}, keep); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ToolCalls(keep + 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != keep || all[0].ID != keep+3 || all[len(all)-1].ID != 4 {
		t.Fatalf("kept %d calls, newest %d, oldest %d; want %d, %d, 4", len(all), all[0].ID, all[len(all)-1].ID, keep, keep+3)
	}
}
