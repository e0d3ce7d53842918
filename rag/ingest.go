package rag

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/chatbot/chatbot/store"
)

// DefaultMaxFileSize is the largest file ingested unless configured.
const DefaultMaxFileSize = 16 << 20

// IngestOptions tune Ingest. The zero value is usable.
type IngestOptions struct {
	Chunk ChunkOptions
	// MaxFileSize skips larger files (default DefaultMaxFileSize).
	MaxFileSize int64
	// Prune removes documents whose files no longer exist.
	Prune bool
	// Progress, when set, is called for every file (from the calling goroutine).
	Progress func(Event)
	// ReadFile reads a file (default os.ReadFile); tests inject failures.
	ReadFile func(path string) ([]byte, error)
}

// Event reports ingest progress.
type Event struct {
	Kind   EventKind
	Path   string // the file (for EventFile)
	Status FileStatus
	Chunks int
	Reason string // why a file was skipped
	Done   int    // files handled so far
	Total  int    // files found
	Bytes  int64  // bytes of text found (EventStart)
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	EventStart EventKind = iota // walking done: Total, Bytes
	EventFile                   // one file handled
)

// FileStatus is what happened to one file.
type FileStatus string

// File statuses.
const (
	StatusAdded     FileStatus = "added"
	StatusUpdated   FileStatus = "updated"
	StatusUnchanged FileStatus = "unchanged"
	StatusSkipped   FileStatus = "skipped"
)

// Skipped is a file that was not indexed, and why.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Summary reports an ingest run.
type Summary struct {
	Files     int           `json:"files"` // files considered
	Added     int           `json:"added"`
	Updated   int           `json:"updated"`
	Unchanged int           `json:"unchanged"`
	Removed   int           `json:"removed"` // pruned, or emptied
	Chunks    int           `json:"chunks"`  // chunks written this run
	Bytes     int64         `json:"bytes"`   // bytes of the files read and indexed
	Skipped   []Skipped     `json:"skipped"`
	Warnings  []Skipped     `json:"warnings"`
	Duration  time.Duration `json:"duration"`
}

// ErrNoPath means an ingest argument does not exist.
var ErrNoPath = errors.New("path does not exist")

type found struct {
	path   string // absolute, the document's identity
	source string // shown to users: relative to the argument's parent
	size   int64
}

// Ingest indexes the files under paths (files or folders, recursively).
// Hidden files, unsupported types, binaries, empty files and files over the
// size limit are skipped and reported. Unchanged files (same content hash)
// cost nothing; changed ones replace their chunks. Each document is
// written in one transaction, so a failure (Ollama down, ctx cancelled)
// stops the run with an error naming the file, and leaves every document
// either fully indexed or as before. The summary is valid also on error.
func (ix *Index) Ingest(ctx context.Context, paths []string, opts IngestOptions) (Summary, error) {
	start := time.Now()
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(Event) {}
	}
	var sum Summary
	if len(paths) == 0 {
		return sum, fmt.Errorf("nothing to ingest: give files or folders")
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return sum, fmt.Errorf("%q: %w", p, ErrNoPath)
			}
			return sum, fmt.Errorf("%q: %w", p, err)
		}
	}
	var files []found
	for _, p := range paths {
		files = append(files, walk(p, &sum)...)
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	sum.Files = len(files) + len(sum.Skipped)
	progress(Event{Kind: EventStart, Total: len(files), Bytes: total})
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			sum.Duration = time.Since(start)
			return sum, fmt.Errorf("ingest stopped before %s: %w", f.source, err)
		}
		ev, err := ix.ingestFile(ctx, f, opts, &sum)
		if err != nil {
			sum.Duration = time.Since(start)
			return sum, fmt.Errorf("ingest %s: %w (documents before it are indexed; this one is unchanged; run ingest again to continue)", f.source, err)
		}
		ev.Kind, ev.Path, ev.Done, ev.Total = EventFile, f.source, i+1, len(files)
		progress(ev)
	}
	if opts.Prune {
		if err := ix.prune(ctx, &sum); err != nil {
			sum.Duration = time.Since(start)
			return sum, err
		}
	}
	sum.Duration = time.Since(start)
	return sum, nil
}

// ingestFile handles one file; an error is fatal for the run.
func (ix *Index) ingestFile(ctx context.Context, f found, opts IngestOptions, sum *Summary) (Event, error) {
	skip := func(reason string) (Event, error) {
		sum.Skipped = append(sum.Skipped, Skipped{Path: f.source, Reason: reason})
		return Event{Status: StatusSkipped, Reason: reason}, nil
	}
	if f.size > opts.MaxFileSize {
		return skip(fmt.Sprintf("larger than the limit of %d MB (raise it with --max-file-size)", opts.MaxFileSize>>20))
	}
	format, _, _ := FormatOf(f.path)
	b, err := opts.ReadFile(f.path)
	if err != nil {
		return skip("unreadable: " + unwrapPathError(err))
	}
	if int64(len(b)) > opts.MaxFileSize { // grew since the walk
		return skip(fmt.Sprintf("larger than the limit of %d MB (raise it with --max-file-size)", opts.MaxFileSize>>20))
	}
	old, err := ix.st.DocumentByPath(f.path)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Event{}, err
	}
	hash := Hash(b)
	if exists && old.Hash == hash {
		sum.Unchanged++
		return Event{Status: StatusUnchanged, Chunks: old.Chunks}, nil
	}
	removeOld := func() error {
		if !exists {
			return nil
		}
		sum.Removed++
		return ix.Remove(ctx, old.ID)
	}
	text, latin1, err := Decode(b)
	if errors.Is(err, ErrBinary) {
		if err := removeOld(); err != nil {
			return Event{}, err
		}
		return skip("binary content")
	}
	if strings.TrimSpace(text) == "" {
		if err := removeOld(); err != nil {
			return Event{}, err
		}
		return skip("empty file")
	}
	if latin1 {
		sum.Warnings = append(sum.Warnings, Skipped{Path: f.source, Reason: "not valid UTF-8; read as Latin-1"})
	}
	doc, err := ix.Put(ctx, DocInput{Path: f.path, Source: f.source, Content: b, Parsed: Parse(format, f.path, text), Chunk: opts.Chunk})
	if errors.Is(err, ErrNoText) {
		if err := removeOld(); err != nil {
			return Event{}, err
		}
		return skip("no text")
	}
	if err != nil {
		return Event{}, err
	}
	sum.Chunks += doc.Chunks
	sum.Bytes += int64(len(b))
	if exists {
		sum.Updated++
		return Event{Status: StatusUpdated, Chunks: doc.Chunks}, nil
	}
	sum.Added++
	return Event{Status: StatusAdded, Chunks: doc.Chunks}, nil
}

func unwrapPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// prune removes documents whose files are gone.
func (ix *Index) prune(ctx context.Context, sum *Summary) error {
	docs, err := ix.st.Documents()
	if err != nil {
		return err
	}
	for _, d := range docs {
		if _, err := os.Lstat(d.Path); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := ix.Remove(ctx, d.ID); err != nil {
			return fmt.Errorf("prune %s: %w", d.Path, err)
		}
		sum.Removed++
	}
	return nil
}

// walk lists the supported files under root, following symbolic links
// once (a link back to a folder already walked is a loop, reported as
// skipped), skipping hidden entries, unsupported types and non-regular
// files. Files are returned sorted by path.
func walk(root string, sum *Summary) []found {
	abs, err := filepath.Abs(root)
	if err != nil {
		sum.Skipped = append(sum.Skipped, Skipped{Path: root, Reason: err.Error()})
		return nil
	}
	base := filepath.Dir(abs)
	var out []found
	visited := map[string]bool{}
	rel := func(p string) string {
		r, err := filepath.Rel(base, p)
		if err != nil {
			return p
		}
		return filepath.ToSlash(r)
	}
	var visit func(path string, top bool)
	visit = func(path string, top bool) {
		name := filepath.Base(path)
		if !top && strings.HasPrefix(name, ".") {
			sum.Skipped = append(sum.Skipped, Skipped{Path: rel(path), Reason: "hidden"})
			return
		}
		fi, err := os.Stat(path) // follows links
		if err != nil {
			reason := "unreadable: " + unwrapPathError(err)
			if errors.Is(err, syscall.ELOOP) {
				reason = "symbolic link loop"
			}
			sum.Skipped = append(sum.Skipped, Skipped{Path: rel(path), Reason: reason})
			return
		}
		if fi.IsDir() {
			real, err := filepath.EvalSymlinks(path)
			if err != nil {
				sum.Skipped = append(sum.Skipped, Skipped{Path: rel(path), Reason: "unreadable: " + unwrapPathError(err)})
				return
			}
			if visited[real] {
				sum.Skipped = append(sum.Skipped, Skipped{Path: rel(path), Reason: "symbolic link loop (folder already visited)"})
				return
			}
			visited[real] = true
			entries, err := os.ReadDir(path)
			if err != nil {
				sum.Skipped = append(sum.Skipped, Skipped{Path: rel(path), Reason: "unreadable folder: " + unwrapPathError(err)})
			}
			for _, e := range entries {
				visit(filepath.Join(path, e.Name()), false)
			}
			return
		}
		if !fi.Mode().IsRegular() {
			sum.Skipped = append(sum.Skipped, Skipped{Path: rel(path), Reason: "not a regular file"})
			return
		}
		if _, reason, ok := FormatOf(name); !ok {
			sum.Skipped = append(sum.Skipped, Skipped{Path: rel(path), Reason: reason})
			return
		}
		out = append(out, found{path: path, source: rel(path), size: fi.Size()})
	}
	visit(abs, true)
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}
