package rag

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/crawl"
	"github.com/chatbot/chatbot/internal/netguard"
	"github.com/chatbot/chatbot/store"
)

// goneAfter is how many syncs in a row a page must be missing (404/410,
// or no longer listed or linked) before its document is removed: one bad
// deploy of the site does not empty the knowledge base.
const goneAfter = 2

// SyncOptions configure a Syncer.
type SyncOptions struct {
	// Access is what folder sources may read (ServerAccess on the server).
	Access Access
	// Policy is the outbound address guard for website fetches.
	Policy *netguard.AddrPolicy
	// Crawl holds the crawl defaults (delay, concurrency, limits); each
	// source's own settings override its start, hosts, patterns and limits.
	Crawl crawl.Options
	Log   *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Syncer keeps knowledge sources in step: one sync at a time, each
// document switched atomically (Index.Put), so questions asked meanwhile
// see a page's old or new version, never a mix, and never wait for it.
type Syncer struct {
	ix   *Index
	opts SyncOptions
	// running holds one token: one sync (or removal) at a time.
	running chan struct{}
	wake    chan struct{}

	syncs, failures, fetched, unchanged, removed, requests atomic.Int64
	current                                                atomic.Uint64 // source being synced, 0 when idle
}

// NewSyncer returns a Syncer over ix.
func NewSyncer(ix *Index, opts SyncOptions) *Syncer {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Syncer{ix: ix, opts: opts, running: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
	return s
}

func (s *Syncer) now() time.Time { return s.opts.Now().UTC() }

func (s *Syncer) lock(ctx context.Context) error {
	select {
	case s.running <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the running sync: %w", ctx.Err())
	}
}

func (s *Syncer) unlock() { <-s.running }

// Wake makes Run look for due sources now.
func (s *Syncer) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// SyncReport is the outcome of one sync.
type SyncReport struct {
	Source    store.Source  `json:"source"`
	Added     int           `json:"added"`
	Updated   int           `json:"updated"`
	Unchanged int           `json:"unchanged"`
	Removed   int           `json:"removed"`
	Requests  int           `json:"requests"` // HTTP requests (websites)
	Skipped   []crawl.Skip  `json:"skipped"`
	Duration  time.Duration `json:"duration"`
}

// Sync syncs one source now, waiting for a running sync to finish first.
// A failed sync keeps the source's documents as they were and records the
// error on the source; the error is returned too.
func (s *Syncer) Sync(ctx context.Context, id uint64) (SyncReport, error) {
	if err := s.lock(ctx); err != nil {
		return SyncReport{}, err
	}
	defer s.unlock()
	return s.syncLocked(ctx, id)
}

func (s *Syncer) syncLocked(ctx context.Context, id uint64) (SyncReport, error) {
	start := time.Now()
	st := s.ix.st
	// Syncing stays set if the process dies mid-sync: the next start redoes
	// it (every document is whole, old or new; states are rewritten).
	// The schedule is cleared while it runs: after a crash only Syncing
	// brings it back, and the end of the sync sets the next one.
	src, err := st.UpdateSource(id, func(src *store.Source) error { src.Syncing, src.NextSync = true, time.Time{}; return nil })
	if errors.Is(err, store.ErrNotFound) {
		return SyncReport{}, apperr.New(apperr.NotFound, "no source %d", id)
	}
	if err != nil {
		return SyncReport{}, err
	}
	s.current.Store(id)
	defer s.current.Store(0)
	rep := SyncReport{}
	switch src.Kind {
	case store.SourceWebsite:
		err = s.syncWebsite(ctx, src, &rep)
	case store.SourceFolder:
		err = s.syncFolder(ctx, src, &rep)
	}
	rep.Duration = time.Since(start)
	s.syncs.Add(1)
	s.fetched.Add(int64(rep.Added + rep.Updated))
	s.unchanged.Add(int64(rep.Unchanged))
	s.removed.Add(int64(rep.Removed))
	s.requests.Add(int64(rep.Requests))
	if err != nil {
		s.failures.Add(1)
		s.opts.Log.Warn("source sync failed; its documents are kept as they were", "source", id, "err", err)
	}
	if ctx.Err() != nil {
		// Stopped (shutdown, or the caller went away): Syncing stays set,
		// so the scheduler (or the next start) redoes it.
		s.Wake()
		return rep, err
	}
	docs, derr := st.SourceDocuments(id)
	now := s.now()
	src, uerr := st.UpdateSource(id, func(src *store.Source) error {
		src.Syncing, src.LastSync = false, now
		src.Fetched, src.Unchanged, src.Removed = rep.Added+rep.Updated, rep.Unchanged, rep.Removed
		if err != nil {
			src.LastError = err.Error()
		} else {
			src.LastError, src.LastGood = "", now
		}
		if derr == nil {
			src.Documents, src.Chunks = len(docs), 0
			for _, d := range docs {
				src.Chunks += d.Chunks
			}
		}
		src.NextSync = time.Time{}
		if src.Every > 0 {
			src.NextSync = now.Add(time.Duration(src.Every))
		}
		return nil
	})
	rep.Source = src
	if err == nil {
		err = errors.Join(derr, uerr)
	}
	if err == nil {
		s.opts.Log.Info("source synced", "source", id, "added", rep.Added, "updated", rep.Updated, "unchanged", rep.Unchanged,
			"removed", rep.Removed, "requests", rep.Requests, "duration", rep.Duration)
	}
	return rep, err
}

// syncWebsite crawls the site and applies what changed.
func (s *Syncer) syncWebsite(ctx context.Context, src store.Source, rep *SyncReport) error {
	st := s.ix.st
	states, err := st.PageStates(src.ID)
	if err != nil {
		return err
	}
	opts := s.opts.Crawl
	opts.Start, opts.Hosts, opts.Include, opts.Exclude = src.Location, src.Hosts, src.Include, src.Exclude
	if src.MaxPages > 0 {
		opts.MaxPages = src.MaxPages
	}
	if src.MaxDepth > 0 {
		opts.MaxDepth = src.MaxDepth
	}
	opts.Policy = s.opts.Policy
	opts.Known = make(map[string]crawl.Prior, len(states))
	for u, ps := range states {
		opts.Known[u] = crawl.Prior{Validators: crawl.Validators{ETag: ps.ETag, LastModified: ps.LastModified}, Links: ps.Links}
	}
	seen := map[string]bool{}
	var put []store.PageState
	res, err := crawl.Crawl(ctx, opts, func(p crawl.Page) error {
		seen[p.URL] = true
		put = append(put, store.PageState{URL: p.URL, ETag: p.ETag, LastModified: p.LastModified, Links: p.Links, DocPath: p.URL})
		if p.NotModified {
			rep.Unchanged++
			return nil
		}
		return s.putPage(ctx, src.ID, p, rep)
	})
	rep.Requests, rep.Skipped = res.Requests, res.Skipped
	if err == nil && res.Pages == 0 && len(res.Kept) > 0 {
		err = fmt.Errorf("no page could be fetched (%s: %s); the indexed pages are kept", res.Skipped[0].URL, res.Skipped[0].Reason)
	}
	if err != nil {
		// What was fetched is indexed; record it, remove nothing.
		if perr := st.PutPageStates(src.ID, put, nil); perr != nil {
			return errors.Join(err, perr)
		}
		return err
	}
	kept := map[string]bool{}
	for _, u := range res.Kept {
		kept[u] = true
	}
	var drop []string
	for u, ps := range states {
		if seen[u] || kept[u] {
			continue
		}
		if ps.Missing++; ps.Missing < goneAfter {
			put = append(put, ps)
			continue
		}
		drop = append(drop, u)
		if d, err := st.DocumentByPath(ps.DocPath); err == nil && d.SourceID == src.ID {
			if err := s.ix.Remove(ctx, d.ID); err != nil {
				return fmt.Errorf("remove %s: %w", u, err)
			}
			rep.Removed++
		}
	}
	return st.PutPageStates(src.ID, put, drop)
}

var pageFormats = map[string]Format{"html": FormatHTML, "text": FormatText, "markdown": FormatMarkdown}

// putPage indexes one fetched page, unless its content is unchanged.
func (s *Syncer) putPage(ctx context.Context, source uint64, p crawl.Page, rep *SyncReport) error {
	old, err := s.ix.st.DocumentByPath(p.URL)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if exists && old.Hash == Hash(p.Content) && old.Source == p.Canonical && (source == 0 || old.SourceID == source) {
		rep.Unchanged++ // a server without validators: the hash tells
		return nil
	}
	parsed := Parse(pageFormats[p.Format], p.Canonical, string(p.Content))
	if p.Title != "" {
		parsed.Title = p.Title
	}
	_, err = s.ix.Put(ctx, DocInput{Path: p.URL, Source: p.Canonical, Content: p.Content, Parsed: parsed, SourceID: source})
	switch {
	case errors.Is(err, ErrNoText):
		rep.Skipped = append(rep.Skipped, crawl.Skip{URL: p.URL, Reason: "no text"})
		if exists {
			rep.Removed++
			return s.ix.Remove(ctx, old.ID)
		}
		return nil
	case err != nil:
		return fmt.Errorf("index %s: %w", p.URL, err)
	case exists:
		rep.Updated++
	default:
		rep.Added++
	}
	return nil
}

// syncFolder ingests the folder into the source and removes the source's
// documents whose files are gone.
func (s *Syncer) syncFolder(ctx context.Context, src store.Source, rep *SyncReport) error {
	sum, err := s.ix.Ingest(ctx, []string{src.Location}, IngestOptions{Access: s.opts.Access, SourceID: src.ID})
	rep.Added, rep.Updated, rep.Unchanged = sum.Added, sum.Updated, sum.Unchanged
	rep.Removed = sum.Removed
	for _, sk := range sum.Skipped {
		rep.Skipped = append(rep.Skipped, crawl.Skip{URL: sk.Path, Reason: sk.Reason})
	}
	if err != nil {
		return err
	}
	docs, err := s.ix.st.SourceDocuments(src.ID)
	if err != nil {
		return err
	}
	for _, d := range docs {
		if _, err := os.Lstat(d.Path); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := s.ix.Remove(ctx, d.ID); err != nil {
			return fmt.Errorf("remove %s: %w", d.Path, err)
		}
		rep.Removed++
	}
	return nil
}

// SyncDue syncs, one after the other, every source whose next sync is due
// or whose last sync was interrupted, and returns how many it synced.
func (s *Syncer) SyncDue(ctx context.Context) int {
	srcs, err := s.ix.st.Sources()
	if err != nil {
		s.opts.Log.Warn("list sources for sync", "err", err)
		return 0
	}
	n := 0
	for _, src := range srcs {
		if ctx.Err() != nil {
			return n
		}
		due := src.Syncing || (!src.NextSync.IsZero() && !src.NextSync.After(s.now()))
		if !due || src.Kind == store.SourceUpload {
			continue
		}
		if err := s.lock(ctx); err != nil {
			return n
		}
		_, _ = s.syncLocked(ctx, src.ID) // the error is on the source and in the log
		s.unlock()
		n++
	}
	return n
}

// nextDue is when the earliest scheduled sync is due (zero: none).
func (s *Syncer) nextDue() time.Time {
	srcs, err := s.ix.st.Sources()
	if err != nil {
		return time.Time{}
	}
	var next time.Time
	for _, src := range srcs {
		if !src.NextSync.IsZero() && src.Kind != store.SourceUpload && (next.IsZero() || src.NextSync.Before(next)) {
			next = src.NextSync
		}
	}
	return next
}

// Run syncs due sources until ctx ends: at start (redoing syncs a crash
// interrupted), when one is due, and when woken by AddSource or Wake.
func (s *Syncer) Run(ctx context.Context) {
	for {
		s.SyncDue(ctx)
		wait := time.Hour
		if next := s.nextDue(); !next.IsZero() {
			wait = min(max(next.Sub(s.now()), time.Second), time.Hour)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// SyncStats are the Syncer's counters since start, for /metrics.
type SyncStats struct {
	Syncs, Failures, Fetched, Unchanged, Removed, Requests int64
	Current                                                uint64 // source being synced, 0 when idle
}

// Stats returns the counters.
func (s *Syncer) Stats() SyncStats {
	return SyncStats{Syncs: s.syncs.Load(), Failures: s.failures.Load(), Fetched: s.fetched.Load(), Unchanged: s.unchanged.Load(),
		Removed: s.removed.Load(), Requests: s.requests.Load(), Current: s.current.Load()}
}

// CrawlOnce crawls a website into the knowledge base without recording a
// source (`chatbot ingest URL`): its pages are added or replaced, nothing
// is ever removed by a later crawl. progress, when set, is called for each
// page from this goroutine.
func (s *Syncer) CrawlOnce(ctx context.Context, opts crawl.Options, progress func(crawl.Page, FileStatus)) (SyncReport, error) {
	if err := s.lock(ctx); err != nil {
		return SyncReport{}, err
	}
	defer s.unlock()
	start := time.Now()
	if opts.Policy == nil {
		opts.Policy = s.opts.Policy
	}
	var rep SyncReport
	res, err := crawl.Crawl(ctx, opts, func(p crawl.Page) error {
		before := rep
		if err := s.putPage(ctx, 0, p, &rep); err != nil {
			return err
		}
		status := StatusUnchanged
		switch {
		case rep.Added > before.Added:
			status = StatusAdded
		case rep.Updated > before.Updated:
			status = StatusUpdated
		case len(rep.Skipped) > len(before.Skipped) || rep.Removed > before.Removed:
			status = StatusSkipped
		}
		if progress != nil {
			progress(p, status)
		}
		return nil
	})
	rep.Requests = res.Requests
	rep.Skipped = append(rep.Skipped, res.Skipped...)
	rep.Duration = time.Since(start)
	if err == nil && res.Pages == 0 && len(res.Kept) > 0 {
		err = fmt.Errorf("no page could be fetched (%s: %s)", res.Skipped[0].URL, res.Skipped[0].Reason)
	}
	return rep, err
}
