package cmd

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatbot/chatbot/client"
)

// TestClientAgainstTheRealServer calls every typed method of the client on
// a running service, with answers decoded strictly: a field the server
// sends that the client's types lack fails here, and the server refuses a
// request field it does not know, so both directions of the contract are
// pinned against the real handlers.
func TestClientAgainstTheRealServer(t *testing.T) {
	root := t.TempDir()
	writeContractFile(t, filepath.Join(root, "docs", "refunds.md"), "# Refunds\n\nRefunds are paid back within five working days.\n")
	writeContractFile(t, filepath.Join(root, "faq", "shipping.md"), "# Shipping\n\nParcels leave the warehouse every morning.\n")
	received := make(chan string, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received <- r.Header.Get("webhook-id")
	}))
	t.Cleanup(recv.Close)
	a, _ := startApp(t, config{AdminToken: e2eAdmin, Embedder: "builtin", KnowledgeRoots: []string{root},
		AllowOutgoing: "127.0.0.0/8", Answer: answerConfig{LLM: llmNone}})
	c := client.New("http://"+a.Addr(), e2eAdmin).Strict()
	ctx := context.Background()

	ready, err := c.Ready(ctx)
	if err != nil || !ready.Success || ready.Status != "ready" || ready.LLM.State != "disabled" {
		t.Fatalf("Ready = %+v, %v", ready, err)
	}

	// Knowledge: ingest, list, search, delete.
	sum, err := c.Ingest(ctx, client.IngestRequest{Paths: []string{filepath.Join(root, "docs")}})
	if err != nil || sum.Files != 1 || sum.Added != 1 || sum.Chunks != 1 {
		t.Fatalf("Ingest = %+v, %v", sum, err)
	}
	docs, err := c.Documents(ctx)
	if err != nil || len(docs.Documents) != 1 || docs.Documents[0].Title != "Refunds" || docs.Chunks != 1 || docs.Index.Provider == "" {
		t.Fatalf("Documents = %+v, %v", docs, err)
	}
	passages, err := c.Search(ctx, "refunds paid back", 3)
	if err != nil || len(passages) != 1 || passages[0].Title != "Refunds" || passages[0].Source != "docs/refunds.md#refunds" {
		t.Fatalf("Search = %+v, %v", passages, err)
	}
	if err := c.DeleteDocument(ctx, docs.Documents[0].ID); err != nil {
		t.Fatalf("DeleteDocument: %v", err)
	}
	if docs, err = c.Documents(ctx); err != nil || len(docs.Documents) != 0 {
		t.Fatalf("Documents after delete = %+v, %v", docs, err)
	}

	// Sources: create, sync, show, list, delete.
	src, err := c.CreateSource(ctx, client.SourceRequest{Kind: "folder", Name: "FAQ", Location: filepath.Join(root, "faq"), Every: client.Duration(6 * time.Hour)})
	if err != nil || src.ID == 0 || src.Kind != "folder" || src.Name != "FAQ" || time.Duration(src.Every) != 6*time.Hour {
		t.Fatalf("CreateSource = %+v, %v", src, err)
	}
	// The scheduler may sync the new source first (it is due at once): the
	// file is added by one sync or the other.
	rep, err := c.SyncSource(ctx, src.ID)
	if err != nil || rep.Added+rep.Unchanged != 1 || rep.Source.ID != src.ID || rep.Source.Documents != 1 {
		t.Fatalf("SyncSource = %+v, %v", rep, err)
	}
	view, err := c.GetSource(ctx, src.ID)
	if err != nil || len(view.Documents) != 1 || view.Documents[0].Title != "Shipping" || view.Documents[0].SourceID != src.ID {
		t.Fatalf("GetSource = %+v, %v", view, err)
	}
	if srcs, err := c.ListSources(ctx); err != nil || len(srcs) != 1 || srcs[0].ID != src.ID {
		t.Fatalf("ListSources = %+v, %v", srcs, err)
	}
	if err := c.DeleteSource(ctx, src.ID); err != nil {
		t.Fatalf("DeleteSource: %v", err)
	}

	// Webhook configs and deliveries.
	name, provider, url := "Shop", "freshchat", recv.URL
	cfg, err := c.CreateConfig(ctx, client.ConfigInput{Name: &name, Provider: &provider, OutgoingURL: &url})
	if err != nil || cfg.ID == 0 || cfg.Name != "Shop" || cfg.OutgoingURL != recv.URL || cfg.IncomingToken == "" {
		t.Fatalf("CreateConfig = %+v, %v", cfg, err)
	}
	if got, err := c.GetConfig(ctx, cfg.ID); err != nil || got.Name != "Shop" {
		t.Fatalf("GetConfig = %+v, %v", got, err)
	}
	if got, err := c.FindConfig(ctx, "shop"); err != nil || got.ID != cfg.ID {
		t.Fatalf("FindConfig(shop) = %+v, %v", got, err)
	}
	res, err := c.TestConfig(ctx, cfg.ID)
	if err != nil || !res.Delivered || res.StatusCode != http.StatusOK || res.WebhookID == "" {
		t.Fatalf("TestConfig = %+v, %v", res, err)
	}
	if got := <-received; got != res.WebhookID {
		t.Fatalf("the receiver got webhook-id %q, the test reported %q", got, res.WebhookID)
	}
	var ae *client.APIError
	if _, err := c.Redeliver(ctx, 12345); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Fatalf("Redeliver(unknown) = %v, want a 404 APIError", err)
	}
	var buf bytes.Buffer
	if n, err := c.Backup(ctx, &buf); err != nil || n == 0 || n != int64(buf.Len()) {
		t.Fatalf("Backup = %d bytes (buffer %d), %v", n, buf.Len(), err)
	}
	if err := c.DeleteConfig(ctx, cfg.ID); err != nil {
		t.Fatalf("DeleteConfig: %v", err)
	}
	if all, err := c.ListConfigs(ctx); err != nil || len(all) != 0 {
		t.Fatalf("ListConfigs after delete = %+v, %v", all, err)
	}
}

// TestStrictClientRefusesAnUnknownField shows what the contract test
// relies on: the strict client fails on a field it does not know, the
// ordinary one ignores it.
func TestStrictClientRefusesAnUnknownField(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"success":true,"status":"ready","brand_new":1}`))
	}))
	t.Cleanup(srv.Close)
	if r, err := client.New(srv.URL, "t").Ready(context.Background()); err != nil || r.Status != "ready" {
		t.Fatalf("lenient Ready = %+v, %v", r, err)
	}
	if _, err := client.New(srv.URL, "t").Strict().Ready(context.Background()); err == nil {
		t.Fatal("strict Ready accepted an unknown field")
	}
}

func writeContractFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
