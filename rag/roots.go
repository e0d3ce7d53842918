package rag

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Access decides which files an ingest may read.
//
// The server (ServerAccess) reads only below its knowledge roots: a path
// is refused unless it lies below a root once every symbolic link in it is
// resolved. The local CLI (LocalAccess, and the zero value) reads what its
// user can read, but a folder it is given is a root of its own: a link
// inside that leads out of it is skipped unless followSymlinks. Both never
// read the data directory, whose secret.key would otherwise be quoted to
// anyone who asks the bot.
//
// The check resolves paths with filepath.EvalSymlinks, and the reads then
// go through os.Root (openat below the root), so that a link swapped in
// between check and read still cannot lead out of the root; a file opened
// is also compared with the data directory's files by identity, for a root
// that contains the data directory.
type Access struct {
	server  bool
	roots   []string // resolved, absolute, cleaned
	given   []string // as configured, absolute, cleaned (for lexical checks)
	follow  bool
	dataDir string // resolved; "" when there is none
}

// ErrRefused means a path the server was asked to read is not below a
// knowledge root, does not exist, or is in the data directory: callers are
// told the same for all, so that the answer says nothing about the paths
// that exist.
var ErrRefused = errors.New("not a file or folder below a knowledge root")

// ErrNoRoots means the server has no knowledge root, so it reads no files.
var ErrNoRoots = errors.New("no knowledge root is configured")

// ServerAccess confines reads to below roots (folders that must exist) and
// away from dataDir.
func ServerAccess(roots []string, dataDir string) (Access, error) {
	a := Access{server: true, dataDir: resolveDir(dataDir)}
	for _, r := range roots {
		if strings.TrimSpace(r) == "" {
			return Access{}, fmt.Errorf("--knowledge-root must name a folder, not an empty string")
		}
		abs, err := filepath.Abs(r)
		if err != nil {
			return Access{}, fmt.Errorf("--knowledge-root %q: %w", r, err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return Access{}, fmt.Errorf("--knowledge-root %q does not exist or cannot be read; create the folder or correct the path", r)
		}
		fi, err := os.Stat(real)
		if err != nil || !fi.IsDir() {
			return Access{}, fmt.Errorf("--knowledge-root %q is not a folder; name the folder that holds the documents", r)
		}
		if within(real, a.dataDir) {
			// Everything at or below the data directory is refused, so
			// such a root could give nothing; say so now, not at every ingest.
			return Access{}, fmt.Errorf("--knowledge-root %q is inside the data directory %s, which ingest never reads (it holds the database and the encryption key); keep the documents in another folder", r, a.dataDir)
		}
		a.roots = append(a.roots, real)
		a.given = append(a.given, filepath.Clean(abs))
	}
	return a, nil
}

// LocalAccess reads what the user can, never dataDir, and follows links out
// of a given folder only with followSymlinks.
func LocalAccess(dataDir string, followSymlinks bool) Access {
	return Access{follow: followSymlinks, dataDir: resolveDir(dataDir)}
}

// Roots returns the resolved knowledge roots (for messages).
func (a Access) Roots() []string { return a.roots }

// resolveDir resolves dir's symbolic links; a directory that does not
// exist yet is kept as its absolute path, which is what it will be.
func resolveDir(dir string) string {
	if dir == "" {
		return ""
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Clean(dir)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// within reports whether p is dir or below it (both clean and absolute).
func within(p, dir string) bool {
	if dir == "" {
		return false
	}
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// scope is where one ingest argument may read: below its roots (each open
// as an os.Root), or anywhere when roots is nil (local --follow-symlinks,
// or a single file named on the command line).
type scope struct {
	roots    []*openRoot
	outside  string // why a link out of the roots is skipped
	dataDir  string
	denyList []os.FileInfo // the data directory's files, compared by identity
}

type openRoot struct {
	path string // resolved
	root *os.Root
}

// locate finds the root holding the resolved path real and the path below it.
func (s *scope) locate(real string) (*os.Root, string, bool) {
	if s.roots == nil {
		return nil, real, true
	}
	for _, r := range s.roots {
		if within(real, r.path) {
			rel, _ := filepath.Rel(r.path, real)
			return r.root, rel, true
		}
	}
	return nil, "", false
}

// allowed reports whether the resolved path may be read, and why not.
func (s *scope) allowed(real string) (string, bool) {
	if within(real, s.dataDir) {
		return errInDataDir.Error(), false
	}
	if _, _, ok := s.locate(real); !ok {
		return s.outside, false
	}
	return "", true
}

func (s *scope) stat(real string) (fs.FileInfo, error) {
	root, rel, ok := s.locate(real)
	if !ok {
		return nil, ErrRefused
	}
	if root == nil {
		return os.Stat(rel)
	}
	return root.Stat(rel)
}

func (s *scope) readDir(real string) ([]fs.DirEntry, error) {
	root, rel, ok := s.locate(real)
	if !ok {
		return nil, ErrRefused
	}
	if root == nil {
		return os.ReadDir(rel)
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// readFile reads the resolved path through its root, up to limit+1 bytes
// (the caller sees that it grew past the limit), refusing a file that is
// one of the data directory's whatever path led to it.
func (s *scope) readFile(real string, limit int64) ([]byte, error) {
	root, rel, ok := s.locate(real)
	if !ok {
		return nil, ErrRefused
	}
	var f *os.File
	var err error
	if root == nil {
		f, err = os.Open(rel)
	} else {
		f, err = root.Open(rel)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	for _, d := range s.denyList {
		if os.SameFile(fi, d) {
			return nil, errInDataDir
		}
	}
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// dataDirFiles lists the files of the data directory (a handful: the
// database, the key, the server record), compared by identity with every
// file read.
func dataDirFiles(dir string) []os.FileInfo {
	if dir == "" {
		return nil
	}
	var out []os.FileInfo
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			out = append(out, fi)
		}
		return nil
	})
	return out
}

// close releases the roots.
func (s *scope) close() {
	for _, r := range s.roots {
		r.root.Close()
	}
}

// argument is one resolved ingest argument.
type argument struct {
	abs   string // absolute, as named
	real  string // symbolic links resolved
	info  fs.FileInfo
	scope *scope
}

// resolveArg resolves one ingest argument under a. On the server every
// failure is ErrRefused, so the answer is the same whether the path exists
// or not; locally a missing path is ErrNoPath.
func (a Access) resolveArg(p string, deny []os.FileInfo) (argument, error) {
	if a.server {
		return a.resolveServerArg(p, deny)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return argument{}, err
	}
	fi, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return argument{}, ErrNoPath
	}
	if err != nil {
		return argument{}, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return argument{}, err
	}
	if within(real, a.dataDir) {
		return argument{}, fmt.Errorf("it is in the data directory %s, which is never ingested (it holds the encryption key)", a.dataDir)
	}
	s := &scope{dataDir: a.dataDir, denyList: deny}
	if fi.IsDir() && !a.follow {
		r, err := os.OpenRoot(real)
		if err != nil {
			return argument{}, err
		}
		s.roots = []*openRoot{{path: real, root: r}}
		s.outside = "symbolic link to outside the folder given (--follow-symlinks follows it)"
	}
	return argument{abs: abs, real: real, info: fi, scope: s}, nil
}

func (a Access) resolveServerArg(p string, deny []os.FileInfo) (argument, error) {
	if len(a.roots) == 0 {
		return argument{}, ErrNoRoots
	}
	if !filepath.IsAbs(p) {
		return argument{}, ErrRefused
	}
	abs := filepath.Clean(p)
	// Lexically first: a path outside every root is refused without
	// touching the file system.
	inside := false
	for i := range a.roots {
		if within(abs, a.roots[i]) || within(abs, a.given[i]) {
			inside = true
		}
	}
	if !inside {
		return argument{}, ErrRefused
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return argument{}, ErrRefused
	}
	s := &scope{dataDir: a.dataDir, denyList: deny, outside: "symbolic link to outside the knowledge roots"}
	for _, r := range a.roots {
		root, err := os.OpenRoot(r)
		if err != nil {
			s.close()
			return argument{}, fmt.Errorf("open knowledge root %s: %w", r, err)
		}
		s.roots = append(s.roots, &openRoot{path: r, root: root})
	}
	if _, ok := s.allowed(real); !ok {
		s.close()
		return argument{}, ErrRefused
	}
	fi, err := s.stat(real)
	if err != nil {
		s.close()
		return argument{}, ErrRefused
	}
	return argument{abs: abs, real: real, info: fi, scope: s}, nil
}

// ArgError is an ingest argument that cannot be read: Index is its place
// in the request's paths.
type ArgError struct {
	Index int
	Path  string
	Err   error
}

func (e *ArgError) Error() string { return fmt.Sprintf("%q: %v", e.Path, e.Err) }

func (e *ArgError) Unwrap() error { return e.Err }

// errInDataDir is a file that turned out, once open, to be one of the data
// directory's.
var errInDataDir = errors.New("in the data directory, which is never ingested")
