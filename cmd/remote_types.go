package cmd

import (
	"github.com/chatbot/chatbot/client"
	"github.com/chatbot/chatbot/crawl"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// The client has its own copies of the API's types so that it depends on
// nothing of the server; the commands work with the server's types (the
// local backends return them), so the remote backends convert here. Where
// the two structs have the same fields a Go conversion does it, and the
// compiler checks that they still do.

func sourceRequestToClient(r rag.SourceRequest) client.SourceRequest {
	return client.SourceRequest{Kind: r.Kind, Name: r.Name, Location: r.Location, Every: client.Duration(r.Every),
		Hosts: r.Hosts, Include: r.Include, Exclude: r.Exclude, MaxPages: r.MaxPages, MaxDepth: r.MaxDepth}
}

func sourceFromClient(s client.Source) store.Source {
	return store.Source{ID: s.ID, Kind: s.Kind, Name: s.Name, Location: s.Location, Every: store.Duration(s.Every),
		Hosts: s.Hosts, Include: s.Include, Exclude: s.Exclude, MaxPages: s.MaxPages, MaxDepth: s.MaxDepth,
		CreatedAt: s.CreatedAt, LastSync: s.LastSync, LastGood: s.LastGood, NextSync: s.NextSync, Syncing: s.Syncing,
		Documents: s.Documents, Chunks: s.Chunks, Fetched: s.Fetched, Unchanged: s.Unchanged, Removed: s.Removed, LastError: s.LastError}
}

func sourcesFromClient(in []client.Source) []store.Source {
	if in == nil {
		return nil // as the JSON said: null, not []
	}
	out := make([]store.Source, len(in))
	for i, s := range in {
		out[i] = sourceFromClient(s)
	}
	return out
}

func documentsFromClient(in []client.Document) []store.Document {
	if in == nil {
		return nil // as the JSON said: null, not []
	}
	out := make([]store.Document, len(in))
	for i, d := range in {
		out[i] = store.Document(d)
	}
	return out
}

func sourceViewFromClient(v client.SourceView) rag.SourceView {
	return rag.SourceView{Success: v.Success, Source: sourceFromClient(v.Source), Documents: documentsFromClient(v.Documents)}
}

func syncReportFromClient(r client.SyncReport) rag.SyncReport {
	out := rag.SyncReport{Source: sourceFromClient(r.Source), Added: r.Added, Updated: r.Updated, Unchanged: r.Unchanged,
		Removed: r.Removed, Requests: r.Requests, Duration: r.Duration}
	for _, s := range r.Skipped {
		out.Skipped = append(out.Skipped, crawl.Skip(s))
	}
	return out
}

func skippedFromClient(in []client.Skipped) []rag.Skipped {
	if in == nil {
		return nil
	}
	out := make([]rag.Skipped, len(in))
	for i, s := range in {
		out[i] = rag.Skipped(s)
	}
	return out
}

func summaryFromClient(s client.IngestSummary) rag.Summary {
	return rag.Summary{Files: s.Files, Added: s.Added, Updated: s.Updated, Unchanged: s.Unchanged, Removed: s.Removed,
		Chunks: s.Chunks, Bytes: s.Bytes, Skipped: skippedFromClient(s.Skipped), Warnings: skippedFromClient(s.Warnings), Duration: s.Duration}
}

func configsFromClient(in []client.ConfigView) []webhook.ConfigView {
	if in == nil {
		return nil // as the JSON said: null, not []
	}
	out := make([]webhook.ConfigView, len(in))
	for i, v := range in {
		out[i] = webhook.ConfigView(v)
	}
	return out
}
