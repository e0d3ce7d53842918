package store

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func nativeConfig(name string) *WebhookConfig {
	c := newConfig(name)
	c.Provider, c.OutgoingURL = "chatwoot", ""
	c.PlatformSettings = PlatformSettings{Adapter: AdapterNative, APIURL: "https://chat.example.com",
		APIToken: "api-token-PLAINTEXT-4", Secret: "platform-secret-PLAINTEXT-5", Account: "7", BotID: "agent_bot:3",
		Handoff: HandoffNative, HandoffTarget: "12", AcceptUnsigned: true}
	return c
}

func TestPlatformSettingsRoundTripSealed(t *testing.T) {
	s := openTest(t, Options{})
	c := nativeConfig("Chatwoot")
	if err := s.CreateConfig(c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Config(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PlatformSettings != c.PlatformSettings {
		t.Fatalf("platform settings = %+v, want %+v", got.PlatformSettings, c.PlatformSettings)
	}
	if native, handoff, err := s.NativeHandoff(c.ID); err != nil || !native || handoff != HandoffNative {
		t.Fatalf("NativeHandoff = %v, %q, %v", native, handoff, err)
	}
	if !got.Native() || !got.Delivers() {
		t.Fatalf("Native() = %v, Delivers() = %v, want both true", got.Native(), got.Delivers())
	}
	file, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"PLAINTEXT-4", "PLAINTEXT-5"} {
		if bytes.Contains(file, []byte(plain)) {
			t.Errorf("%q found in plaintext in the database", plain)
		}
	}
}

// A generic config is written exactly as before the native settings
// existed: none of their keys appear in its record.
func TestGenericConfigRecordHasNoPlatformKeys(t *testing.T) {
	s := openTest(t, Options{})
	c := newConfig("Generic")
	if err := s.CreateConfig(c); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	err := s.view(func(tx *bolt.Tx) error { return json.Unmarshal(tx.Bucket(bucketConfigs).Get(itob(c.ID)), &rec) })
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"adapter", "api_url", "api_token", "platform_secret", "account", "bot_id", "handoff", "handoff_target", "accept_unsigned"} {
		if _, ok := rec[k]; ok {
			t.Errorf("generic record has key %q", k)
		}
	}
	got, err := s.Config(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if native, _, err := s.NativeHandoff(c.ID); err != nil || native {
		t.Fatalf("NativeHandoff of a generic config = %v, %v", native, err)
	}
	if got.Native() || got.PlatformSettings != (PlatformSettings{}) {
		t.Fatalf("generic config reads back as %+v", got.PlatformSettings)
	}
}

func TestConversationPauseState(t *testing.T) {
	now := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	s := openTest(t, Options{Now: func() time.Time { return now }})
	c := nativeConfig("Chatwoot")
	if err := s.CreateConfig(c); err != nil {
		t.Fatal(err)
	}
	p, err := s.ConversationPauseState(c.ID, "42")
	if err != nil || p.Paused || p.Cause != "" {
		t.Fatalf("unknown conversation = %+v, %v; want not paused", p, err)
	}
	if _, err := s.SetConversationPause(c.ID, "42", true, PauseAgentReply); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if _, err := s.SetConversationPause(c.ID, "43", false, ResumeResolved); err != nil {
		t.Fatal(err)
	}
	p, err = s.ConversationPauseState(c.ID, "42")
	want := ConversationPause{ConfigID: c.ID, ConversationID: "42", Paused: true, Cause: PauseAgentReply, UpdatedAt: now.Add(-time.Minute)}
	if err != nil || p != want {
		t.Fatalf("paused conversation = %+v, %v; want %+v", p, err, want)
	}
	list, err := s.ConversationPauses(c.ID)
	if err != nil || len(list) != 2 || list[0].ConversationID != "42" || list[1].ConversationID != "43" || list[1].Cause != ResumeResolved {
		t.Fatalf("list = %+v, %v; want 42 (paused) then 43 (resolved)", list, err)
	}
	if other, err := s.ConversationPauses(c.ID + 1); err != nil || len(other) != 0 {
		t.Fatalf("another config's list = %+v, %v; want empty", other, err)
	}
	if err := s.RecordPlatformSent(c.ID, "9001"); err != nil {
		t.Fatal(err)
	}
	if sent, err := s.PlatformSent(c.ID, "9001"); err != nil || !sent {
		t.Fatalf("sent 9001 = %v, %v; want true", sent, err)
	}
	if sent, err := s.PlatformSent(c.ID, "9002"); err != nil || sent {
		t.Fatalf("sent 9002 = %v, %v; want false", sent, err)
	}
	if err := s.DeleteConfig(c.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := s.ConversationPauses(c.ID); err != nil || len(list) != 0 {
		t.Fatalf("after delete = %+v, %v; want empty", list, err)
	}
	if sent, err := s.PlatformSent(c.ID, "9001"); err != nil || sent {
		t.Fatalf("sent 9001 after delete = %v, %v; want false", sent, err)
	}
}
