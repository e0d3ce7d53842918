package rag

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
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
	// ReadFile reads a file by its path as named (default: through the
	// argument's root, see Access); tests inject failures.
	ReadFile func(path string) ([]byte, error)
	// Access says what may be read: the zero value is the local CLI's
	// (each folder given is a root; no data directory to protect).
	Access Access
	// SourceID puts the documents in a knowledge source (0: none).
	SourceID uint64
	// BaseURL, when set, gives every file a public URL: its path relative
	// to the folder given, without extension, under this URL (JoinBaseURL).
	// A file's own front matter url wins. It must pass PublicURL.
	BaseURL string
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
	inArg  string // relative to the argument (its name when it is a file), for IngestOptions.BaseURL
	size   int64
	real   string // path with symbolic links resolved, read through scope
	scope  *scope
}

// Ingest indexes the files under paths (files or folders, recursively),
// as far as opts.Access lets it read: an argument it may not read fails
// the run with an *ArgError before anything is indexed.
// Hidden files, unsupported types (files without an extension among them,
// unless named as an argument), symbolic links leading out of the roots,
// binaries, empty files and files over the size limit are skipped and
// reported. Unchanged files (same content hash)
// cost nothing; changed ones replace their chunks. Each document is
// written in one transaction, so a failure (Ollama down, ctx cancelled)
// stops the run with an error naming the file, and leaves every document
// either fully indexed or as before. The summary is valid also on error.
func (ix *Index) Ingest(ctx context.Context, paths []string, opts IngestOptions) (Summary, error) {
	start := time.Now()
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(Event) {}
	}
	var sum Summary
	if len(paths) == 0 {
		return sum, fmt.Errorf("nothing to ingest: give files or folders")
	}
	if opts.BaseURL != "" {
		if _, err := PublicURL(opts.BaseURL); err != nil {
			return sum, fmt.Errorf("base URL: %w", err)
		}
	}
	deny := dataDirFiles(opts.Access.dataDir)
	args := make([]argument, 0, len(paths))
	// Registered before the workers' wait below, so it runs after it: the
	// roots stay open while any file is read.
	defer func() {
		for _, a := range args {
			a.scope.close()
		}
	}()
	for i, p := range paths {
		arg, err := opts.Access.resolveArg(p, deny)
		if err != nil {
			return sum, &ArgError{Index: i, Path: p, Err: err}
		}
		args = append(args, arg)
	}
	var files []found
	seen := map[string]bool{}
	for _, arg := range args {
		for _, f := range walk(arg, &sum) {
			if !seen[f.path] { // the same file named twice
				seen[f.path] = true
				files = append(files, f)
			}
		}
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	sum.Files = len(files) + len(sum.Skipped)
	progress(Event{Kind: EventStart, Total: len(files), Bytes: total})

	// Files are read, chunked and embedded by a bounded set of goroutines,
	// ahead of the writer, which commits them in order, one transaction each.
	workers := max(1, runtime.GOMAXPROCS(0))
	window := 2 * workers
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	results := make([]chan fileResult, len(files))
	sem := make(chan struct{}, workers)
	launch := func(i int) {
		results[i] = make(chan fileResult, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			defer func() {
				if r := recover(); r != nil {
					results[i] <- fileResult{err: fmt.Errorf("internal error: %v", r)}
				}
			}()
			results[i] <- ix.prepareFile(wctx, files[i], opts)
		}()
	}
	next := 0 // next file to launch
	pending := map[int]fileResult{}
	get := func(i int) fileResult {
		if r, ok := pending[i]; ok {
			delete(pending, i)
			return r
		}
		return <-results[i]
	}
	for i := 0; i < len(files); {
		for ; next < len(files) && next < i+window; next++ {
			launch(next)
		}
		if err := ctx.Err(); err != nil {
			sum.Duration = time.Since(start)
			return sum, fmt.Errorf("ingest stopped before %s: %w", files[i].source, err)
		}
		// Group commit: documents already prepared behind this one share
		// its transaction (and its fsync).
		group := []fileResult{get(i)}
		if group[0].committable() {
			for j := i + 1; j < next && len(group) < maxGroup; j++ {
				var r fileResult
				got := false
				select {
				case r = <-results[j]:
					got = true
				default:
				}
				if !got || !r.committable() {
					if got {
						pending[j] = r
					}
					break
				}
				group = append(group, r)
			}
		}
		if len(group) > 1 {
			if err := ix.applyGroup(ctx, files[i:i+len(group)], group, &sum, progress, i, len(files)); err != nil {
				sum.Duration = time.Since(start)
				return sum, err
			}
			i += len(group)
			continue
		}
		ev, err := ix.applyFile(ctx, files[i], group[0], &sum)
		if err != nil {
			sum.Duration = time.Since(start)
			return sum, fmt.Errorf("ingest %s: %w (documents before it are indexed; this one is unchanged; run ingest again to continue)", files[i].source, err)
		}
		ev.Kind, ev.Path, ev.Done, ev.Total = EventFile, files[i].source, i+1, len(files)
		progress(ev)
		i++
	}
	if opts.Prune {
		if err := ix.prune(ctx, &sum); err != nil {
			sum.Duration = time.Since(start)
			return sum, err
		}
	}
	ix.settleCalibration(ctx)
	sum.Duration = time.Since(start)
	return sum, nil
}

// fileResult is one file read, decoded, chunked and embedded.
type fileResult struct {
	skip      string // reason the file is skipped
	remove    bool   // and its old version removed (it is now empty or binary)
	unchanged bool
	old       store.Document
	exists    bool
	latin1    bool
	size      int64
	prepared  preparedDoc
	err       error // fatal for the run
}

// maxGroup bounds the documents committed in one transaction.
const maxGroup = 32

// committable reports whether a result is a document ready to be stored.
func (r fileResult) committable() bool {
	return r.err == nil && r.skip == "" && !r.unchanged && len(r.prepared.chunks) > 0
}

// applyGroup commits several prepared documents in one transaction.
func (ix *Index) applyGroup(ctx context.Context, files []found, group []fileResult, sum *Summary, progress func(Event), done, total int) error {
	batch := make([]preparedDoc, len(group))
	for k, r := range group {
		batch[k] = r.prepared
	}
	docs, err := ix.commitMany(ctx, batch)
	if err != nil {
		return fmt.Errorf("ingest %s to %s: %w (documents before them are indexed; these are unchanged; run ingest again to continue)",
			files[0].source, files[len(files)-1].source, err)
	}
	for k, r := range group {
		if r.latin1 {
			sum.Warnings = append(sum.Warnings, Skipped{Path: files[k].source, Reason: "not valid UTF-8; read as Latin-1"})
		}
		sum.Chunks += docs[k].Chunks
		sum.Bytes += r.size
		status := StatusAdded
		if r.exists {
			status = StatusUpdated
			sum.Updated++
		} else {
			sum.Added++
		}
		progress(Event{Kind: EventFile, Path: files[k].source, Status: status, Chunks: docs[k].Chunks, Done: done + k + 1, Total: total})
	}
	return nil
}

// prepareFile does everything for one file that does not change the index.
func (ix *Index) prepareFile(ctx context.Context, f found, opts IngestOptions) fileResult {
	tooBig := fmt.Sprintf("larger than the limit of %d MB (raise it with --max-file-size)", opts.MaxFileSize>>20)
	if f.size > opts.MaxFileSize {
		return fileResult{skip: tooBig}
	}
	format, _, _ := formatOfNamed(f.path) // walk kept only readable types
	var b []byte
	var err error
	if opts.ReadFile != nil {
		b, err = opts.ReadFile(f.path)
	} else {
		b, err = f.scope.readFile(f.real, opts.MaxFileSize)
	}
	if errors.Is(err, errInDataDir) {
		return fileResult{skip: err.Error()}
	}
	if err != nil {
		return fileResult{skip: "unreadable: " + unwrapPathError(err)}
	}
	if int64(len(b)) > opts.MaxFileSize { // grew since the walk
		return fileResult{skip: tooBig}
	}
	r := fileResult{size: int64(len(b))}
	r.old, err = ix.st.DocumentByPath(f.path)
	r.exists = err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fileResult{err: err}
	}
	var baseURL string
	if opts.BaseURL != "" {
		if baseURL, err = JoinBaseURL(opts.BaseURL, f.inArg); err != nil {
			return fileResult{skip: "no public URL under the base URL: " + err.Error()}
		}
	}
	// Unchanged, unless a source now claims a document that had none, or a
	// base URL gives it another public URL than it has.
	if r.exists && r.old.Hash == Hash(b) && (opts.SourceID == 0 || r.old.SourceID == opts.SourceID) &&
		(baseURL == "" || r.old.URL == cmp.Or(markdownURL(format, b), baseURL)) {
		r.unchanged = true
		return r
	}
	text, latin1, err := Decode(b)
	if errors.Is(err, ErrBinary) {
		r.skip, r.remove = "binary content", true
		return r
	}
	if strings.TrimSpace(text) == "" {
		r.skip, r.remove = "empty file", true
		return r
	}
	r.latin1 = latin1
	r.prepared, err = ix.prepare(ctx, DocInput{Path: f.path, Source: f.source, Content: b, Parsed: Parse(format, f.path, text), Chunk: opts.Chunk,
		SourceID: opts.SourceID, URL: baseURL})
	if errors.Is(err, ErrNoText) {
		r.skip, r.remove = "no text", true
		return r
	}
	r.err = err
	return r
}

// applyFile commits one prepared file and accounts for it; an error is
// fatal for the run.
func (ix *Index) applyFile(ctx context.Context, f found, r fileResult, sum *Summary) (Event, error) {
	if r.err != nil {
		return Event{}, r.err
	}
	if r.unchanged {
		sum.Unchanged++
		return Event{Status: StatusUnchanged, Chunks: r.old.Chunks}, nil
	}
	if r.skip != "" {
		if r.remove && r.exists {
			if err := ix.Remove(ctx, r.old.ID); err != nil {
				return Event{}, err
			}
			sum.Removed++
		}
		sum.Skipped = append(sum.Skipped, Skipped{Path: f.source, Reason: r.skip})
		return Event{Status: StatusSkipped, Reason: r.skip}, nil
	}
	if r.latin1 {
		sum.Warnings = append(sum.Warnings, Skipped{Path: f.source, Reason: "not valid UTF-8; read as Latin-1"})
	}
	docs, err := ix.commitMany(ctx, []preparedDoc{r.prepared})
	if err != nil {
		return Event{}, err
	}
	doc := docs[0]
	sum.Chunks += doc.Chunks
	sum.Bytes += r.size
	if r.exists {
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
		if IsUpload(d.Path) || IsWeb(d.Path) { // no file behind it: removed by hand, or by its source's sync
			continue
		}
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

// walk lists the supported files under an argument, skipping hidden
// entries, unsupported types, non-regular files and symbolic links that
// lead out of the argument's scope (or into the data directory); links
// inside it are followed once (a link back to a folder already walked is a
// loop, reported as skipped). A file named as the argument itself is taken
// without an extension. Files are returned sorted by path.
func walk(arg argument, sum *Summary) []found {
	base := filepath.Dir(arg.abs)
	s := arg.scope
	var out []found
	visited := map[string]bool{}
	rel := func(p string) string {
		r, err := filepath.Rel(base, p)
		if err != nil {
			return p
		}
		return filepath.ToSlash(r)
	}
	skip := func(p, reason string) { sum.Skipped = append(sum.Skipped, Skipped{Path: rel(p), Reason: reason}) }
	// visit handles the entry named (the path shown and kept) whose
	// resolved path is real; fi is its information when the folder listing
	// gave it (not a link), else nil.
	var visit func(named, real string, fi fs.FileInfo, top bool)
	visit = func(named, real string, fi fs.FileInfo, top bool) {
		if reason, ok := s.allowed(real); !ok {
			skip(named, reason)
			return
		}
		if fi == nil { // a link, or the argument: stat it through its root
			var err error
			if fi, err = s.stat(real); err != nil {
				skip(named, "unreadable: "+unwrapPathError(err))
				return
			}
		}
		if fi.IsDir() {
			if visited[real] {
				skip(named, "symbolic link loop (folder already visited)")
				return
			}
			visited[real] = true
			entries, err := s.readDir(real)
			if err != nil {
				skip(named, "unreadable folder: "+unwrapPathError(err))
			}
			for _, e := range entries {
				child, childReal := filepath.Join(named, e.Name()), filepath.Join(real, e.Name())
				if strings.HasPrefix(e.Name(), ".") {
					skip(child, "hidden")
					continue
				}
				var info fs.FileInfo
				if e.Type()&fs.ModeSymlink != 0 {
					if childReal, err = filepath.EvalSymlinks(childReal); err != nil {
						skip(child, linkError(err))
						continue
					}
				} else if info, err = e.Info(); err != nil {
					// Not a link: the listing's own information (an lstat),
					// cheaper than a stat through the root per file; the
					// read still goes through the root.
					skip(child, "unreadable: "+unwrapPathError(err))
					continue
				}
				visit(child, childReal, info, false)
			}
			return
		}
		if !fi.Mode().IsRegular() {
			skip(named, "not a regular file")
			return
		}
		formatOf := FormatOf
		if top { // named explicitly: a file without an extension is text
			formatOf = formatOfNamed
		}
		if _, reason, ok := formatOf(filepath.Base(named)); !ok {
			skip(named, reason)
			return
		}
		inArg := filepath.Base(named)
		if !top {
			if r, err := filepath.Rel(arg.abs, named); err == nil {
				inArg = filepath.ToSlash(r)
			}
		}
		out = append(out, found{path: named, source: rel(named), inArg: inArg, size: fi.Size(), real: real, scope: s})
	}
	visit(arg.abs, arg.real, nil, true)
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// linkError says why a symbolic link could not be resolved.
func linkError(err error) string {
	// EvalSymlinks reports a loop as "too many links", not as ELOOP.
	if errors.Is(err, syscall.ELOOP) || strings.Contains(err.Error(), "too many links") {
		return "symbolic link loop"
	}
	return "unreadable: " + unwrapPathError(err)
}
