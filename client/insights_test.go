package client

import (
	"reflect"
	"testing"

	"github.com/chatbot/chatbot/store"
)

// TestPurgeReportMatchesTheServers is TestTypesMatchTheServers for the
// insights types.
func TestPurgeReportMatchesTheServers(t *testing.T) {
	c, s := jsonShape(reflect.TypeOf(PurgeReport{})), jsonShape(reflect.TypeOf(store.PurgeReport{}))
	if !reflect.DeepEqual(c, s) {
		t.Fatalf("client.PurgeReport %v, the server's %v", c, s)
	}
}
