package admin

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/rag"
)

// UploadTypes are the file extensions the knowledge base takes from the
// panel: the ones ingest reads, from the one list in rag.
var UploadTypes = rag.Extensions()

// upload takes one file (multipart field "file") for the knowledge base:
// over the size limit is 413, a type it cannot index is 415, both before
// anything reaches the index.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	limit := h.opts.MaxUpload
	if r.ContentLength > limit+64<<10 {
		h.fail(w, r, apperr.New(apperr.TooLarge, "the upload is %d bytes; the limit is %d bytes per file", r.ContentLength, limit))
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		h.fail(w, r, apperr.New(apperr.Unsupported, "send the file as multipart/form-data in the field \"file\""))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		h.fail(w, r, apperr.Wrap(apperr.Invalid, err, "malformed multipart body"))
		return
	}
	var name string
	var data []byte
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			h.fail(w, r, uploadReadError(err, limit))
			return
		}
		if part.FormName() != "file" {
			continue
		}
		name = filepath.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
		if err := checkUploadName(name); err != nil {
			h.fail(w, r, err)
			return
		}
		data, err = io.ReadAll(io.LimitReader(part, limit+1))
		if err != nil {
			h.fail(w, r, uploadReadError(err, limit))
			return
		}
		if int64(len(data)) > limit {
			h.fail(w, r, apperr.New(apperr.TooLarge, "%q is over the limit of %d bytes per file", name, limit))
			return
		}
		break
	}
	if name == "" {
		h.fail(w, r, apperr.Invalidf("file", "no file in the field \"file\""))
		return
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		h.fail(w, r, apperr.New(apperr.Unsupported, "%q is not UTF-8 text; upload %s files", name, strings.Join(UploadTypes, ", ")))
		return
	}
	if h.opts.Ingest == nil {
		h.fail(w, r, apperr.New(apperr.Unavailable, "the knowledge base is not available in this build"))
		return
	}
	res, err := h.opts.Ingest(r.Context(), name, data)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "document uploaded", "bytes", len(data))
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "result": res})
}

func checkUploadName(name string) error {
	if name == "" || name == "." || name == "/" {
		return apperr.Invalidf("file", "the file has no name")
	}
	ext := strings.ToLower(filepath.Ext(name))
	for _, t := range UploadTypes {
		if ext == t {
			return nil
		}
	}
	return apperr.New(apperr.Unsupported, "files of type %q cannot be indexed; upload %s files", ext, strings.Join(UploadTypes, ", "))
}

func uploadReadError(err error, limit int64) error {
	if httpapi.IsMaxBytes(err) {
		return apperr.New(apperr.TooLarge, "the upload is over the limit of %d bytes per file", limit)
	}
	return apperr.Wrap(apperr.Invalid, err, "could not read the upload")
}

func (h *Handler) reingest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.opts.Reingest == nil {
		h.fail(w, r, apperr.New(apperr.Unavailable, "re-ingest is not available in this build; upload the file again"))
		return
	}
	res, err := h.opts.Reingest(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "result": res})
}
