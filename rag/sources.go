package rag

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/store"
)

// IsWeb reports whether a document path is a web page's URL (a website
// source's document): there is no file behind it to prune it by.
func IsWeb(docPath string) bool {
	return strings.HasPrefix(docPath, "http://") || strings.HasPrefix(docPath, "https://")
}

// minEvery bounds the re-sync interval from below: a site is not a feed.
const minEvery = 5 * time.Minute

// checkSource validates a new source and fills in its defaults; errors
// name the field and the fix.
func checkSource(src *store.Source, access Access) error {
	src.Kind = strings.ToLower(strings.TrimSpace(src.Kind))
	src.Location = strings.TrimSpace(src.Location)
	if src.Every != 0 && time.Duration(src.Every) < minEvery {
		return apperr.Invalidf("every", "every must be at least %s (or 0 to sync only when asked), not %s", minEvery, time.Duration(src.Every))
	}
	if src.MaxPages < 0 || src.MaxDepth < 0 {
		return apperr.Invalidf("max_pages", "max_pages and max_depth must not be negative")
	}
	switch src.Kind {
	case store.SourceWebsite:
		u, err := url.Parse(src.Location)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return apperr.Invalidf("location", "a website source needs an http(s) URL: the start page or the sitemap, e.g. https://help.example.com/sitemap.xml")
		}
		for _, p := range append(append([]string(nil), src.Include...), src.Exclude...) {
			if p = strings.TrimSpace(p); p != "" && !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "*") {
				return apperr.Invalidf("include", "pattern %q must be a URL path starting with / (e.g. /docs/*)", p)
			}
		}
		if src.Name == "" {
			src.Name = u.Host
		}
	case store.SourceFolder:
		if src.Location == "" {
			return apperr.Invalidf("location", "a folder source needs the folder, below a knowledge root")
		}
		if len(access.Roots()) == 0 && access.server {
			return apperr.New(apperr.Forbidden, "%s", noRootsMessage)
		}
		arg, err := access.resolveArg(src.Location, dataDirFiles(access.dataDir))
		if err != nil {
			return apperr.Invalidf("location", "the folder is refused: a folder source must exist below a knowledge root (%s), never in the data directory",
				strings.Join(access.Roots(), ", "))
		}
		arg.scope.close()
		src.Location = arg.abs
		if src.Name == "" {
			src.Name = arg.abs
		}
	case store.SourceUpload:
		if src.Name == "" {
			return apperr.Invalidf("name", "an upload source needs a name")
		}
	default:
		return apperr.Invalidf("kind", "kind must be website, folder or upload, not %q", src.Kind)
	}
	return nil
}

// AddSource validates and stores a source; its first sync is due at once.
func (s *Syncer) AddSource(src store.Source) (store.Source, error) {
	if err := checkSource(&src, s.opts.Access); err != nil {
		return store.Source{}, err
	}
	src.ID, src.LastSync, src.LastGood, src.Syncing, src.LastError = 0, time.Time{}, time.Time{}, false, ""
	if src.Kind != store.SourceUpload {
		src.NextSync = s.now()
	}
	out, err := s.ix.st.CreateSource(src)
	if err != nil {
		return store.Source{}, err
	}
	s.Wake()
	return out, nil
}

// RemoveSource deletes a source and its documents, from the store and the
// in-memory index, waiting for a sync of it to finish first.
func (s *Syncer) RemoveSource(ctx context.Context, id uint64) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	ix := s.ix
	ix.write.Lock()
	defer ix.write.Unlock()
	removed, err := ix.st.DeleteSource(id)
	if errors.Is(err, store.ErrNotFound) {
		return apperr.New(apperr.NotFound, "no source %d", id)
	}
	if err != nil {
		return err
	}
	for _, d := range removed {
		if err := ix.replaceInMemory(ctx, d, nil); err != nil {
			return fmt.Errorf("remove source %d: %w", id, err)
		}
	}
	return nil
}
