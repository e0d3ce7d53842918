package store

import (
	"encoding/json"
	"testing"
)

func decodeRecord(t *testing.T, b []byte) configRecord {
	t.Helper()
	var r configRecord
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func encodeRecord(t *testing.T, r configRecord) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
