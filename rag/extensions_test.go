package rag_test

import (
	"slices"
	"testing"

	"github.com/chatbot/chatbot/admin"
	"github.com/chatbot/chatbot/rag"
)

// The panel's upload took five types while ingest read nine: one list now.
func TestUploadTypesAreTheTypesIngestReads(t *testing.T) {
	if !slices.Equal(admin.UploadTypes, rag.Extensions()) {
		t.Fatalf("upload types %v, ingest reads %v", admin.UploadTypes, rag.Extensions())
	}
	for _, ext := range rag.Extensions() {
		if _, reason, ok := rag.FormatOf("a" + ext); !ok {
			t.Errorf("%s is listed but FormatOf refuses it: %s", ext, reason)
		}
	}
}
