package rag

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/store"
)

// uploadPrefix marks the path of a document that came as bytes (the admin
// panel's upload) rather than from a file: there is nothing on disk to
// re-read or to prune it by.
const uploadPrefix = "upload:"

// IsUpload reports whether a document path names an upload.
func IsUpload(docPath string) bool { return strings.HasPrefix(docPath, uploadPrefix) }

// PutUpload indexes an uploaded file. Its identity is its base name, so
// uploading a file of the same name again replaces the earlier version and
// an unchanged upload costs nothing. Only the base name is kept: a client's
// directories mean nothing here.
func (ix *Index) PutUpload(ctx context.Context, name string, data []byte) (store.Document, error) {
	base := path.Base(strings.ReplaceAll(strings.TrimSpace(name), `\`, "/")) // Windows browsers send C:\...
	if base == "." || base == "/" || base == "" {
		return store.Document{}, apperr.Invalidf("file", "the upload has no file name")
	}
	format, reason, ok := FormatOf(base)
	if !ok {
		return store.Document{}, apperr.New(apperr.Unsupported, "%s: %s", base, reason)
	}
	docPath := uploadPrefix + base
	if old, err := ix.st.DocumentByPath(docPath); err == nil && old.Hash == Hash(data) {
		return old, nil
	}
	return ix.putBytes(ctx, docPath, base, format, data)
}

// Reingest reads document id again from its file and indexes it even when
// the content hash is unchanged (after a chunking change, say). The file
// is read as access allows, as a new ingest of it would be: on the server
// only below a knowledge root, so a document indexed from elsewhere before
// roots existed cannot be read again.
func (ix *Index) Reingest(ctx context.Context, id uint64, access Access) (store.Document, error) {
	doc, err := ix.st.Document(id)
	if err != nil {
		return store.Document{}, err
	}
	if IsUpload(doc.Path) {
		return store.Document{}, apperr.New(apperr.Conflict, "document %d was uploaded, so there is no file to read again; upload it again instead", id)
	}
	if IsWeb(doc.Path) {
		return store.Document{}, apperr.New(apperr.Conflict, "document %d is a web page; sync its source instead (chatbot source sync %d)", id, doc.SourceID)
	}
	format, reason, ok := formatOfNamed(doc.Path)
	if !ok {
		return store.Document{}, apperr.New(apperr.Unsupported, "%s: %s", doc.Path, reason)
	}
	arg, err := access.resolveArg(doc.Path, dataDirFiles(access.dataDir))
	switch {
	case errors.Is(err, ErrNoPath):
		return store.Document{}, apperr.New(apperr.Conflict, "the file of document %d is gone; remove the document or ingest it from its new place", id)
	case errors.Is(err, ErrNoRoots), errors.Is(err, ErrRefused):
		return store.Document{}, apperr.New(apperr.Forbidden, "the file of document %d cannot be read again: it is gone, or not below a knowledge root "+
			"(the server reads only below --knowledge-root folders, never its data directory); upload it instead", id)
	case err != nil:
		return store.Document{}, fmt.Errorf("re-ingest document %d: %w", id, err)
	}
	defer arg.scope.close()
	if arg.info.IsDir() {
		return store.Document{}, apperr.New(apperr.Conflict, "the file of document %d is now a folder; ingest the folder instead", id)
	}
	data, err := arg.scope.readFile(arg.real, DefaultMaxFileSize)
	if errors.Is(err, errInDataDir) {
		return store.Document{}, apperr.New(apperr.Forbidden, "the file of document %d is in the data directory, which is never ingested", id)
	}
	if err != nil {
		return store.Document{}, fmt.Errorf("re-ingest document %d: %w", id, err)
	}
	if int64(len(data)) > DefaultMaxFileSize {
		return store.Document{}, apperr.New(apperr.TooLarge, "the file of document %d is larger than %d MB; ingest it with a higher --max-file-size", id, DefaultMaxFileSize>>20)
	}
	source := doc.Source
	if source == "" {
		source = filepath.Base(doc.Path)
	}
	return ix.putBytes(ctx, doc.Path, source, format, data)
}

// putBytes decodes, parses and indexes one document's bytes.
func (ix *Index) putBytes(ctx context.Context, docPath, source string, format Format, data []byte) (store.Document, error) {
	text, _, err := Decode(data)
	if errors.Is(err, ErrBinary) {
		return store.Document{}, apperr.New(apperr.Unsupported, "%s is binary, not text", source)
	}
	doc, err := ix.Put(ctx, DocInput{Path: docPath, Source: source, Content: data, Parsed: Parse(format, source, text)})
	if errors.Is(err, ErrNoText) {
		return store.Document{}, apperr.New(apperr.Invalid, "%s has no text to index", source)
	}
	return doc, err
}
