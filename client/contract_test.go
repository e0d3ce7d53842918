package client

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/askapi"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// TestTypesMatchTheServers compares each client type with the server type
// it copies, JSON name by JSON name (nested structs, slices and embedded
// structs followed), so a field added, renamed or retyped on either side
// fails here. The tests in cmd decode real answers strictly as well.
func TestTypesMatchTheServers(t *testing.T) {
	for _, tc := range []struct {
		client, server any
		serverOnly     []string // fields the endpoint never sends
	}{
		{ConfigInput{}, webhook.ConfigInput{}, nil},
		{ConfigView{}, webhook.ConfigView{}, nil},
		{TestResult{}, webhook.TestResult{}, nil},
		{Redelivery{}, webhook.Redelivery{}, nil},
		{SourceRequest{}, rag.SourceRequest{}, nil},
		{Source{}, store.Source{}, nil},
		{SourceView{}, rag.SourceView{}, nil},
		{SyncReport{}, rag.SyncReport{}, nil},
		{Document{}, store.Document{}, nil},
		{IndexInfo{}, store.IndexInfo{}, nil},
		{Passage{}, rag.Passage{}, nil},
		{searchRequest{}, rag.SearchRequest{}, nil},
		{IngestRequest{}, rag.IngestRequest{}, nil},
		{IngestSummary{}, rag.Summary{}, nil},
		{AskRequest{}, askapi.Request{}, nil},
		{AskResponse{}, askapi.Response{}, nil},
		// /readyz removes the hosts: their addresses are for the admin only.
		{LLMState{}, chat.LLMState{}, []string{"hosts"}},
	} {
		c, s := jsonShape(reflect.TypeOf(tc.client)), jsonShape(reflect.TypeOf(tc.server))
		for _, f := range tc.serverOnly {
			for k := range s {
				if k == f || strings.HasPrefix(k, f+".") || strings.HasPrefix(k, f+"[") {
					delete(s, k)
				}
			}
		}
		name := reflect.TypeOf(tc.client).Name()
		for _, k := range sortedKeys(s) {
			if _, ok := c[k]; !ok {
				t.Errorf("client.%s lacks the server's field %q (%s)", name, k, s[k])
			} else if c[k] != s[k] {
				t.Errorf("client.%s field %q is %s, the server's is %s", name, k, c[k], s[k])
			}
		}
		for _, k := range sortedKeys(c) {
			if _, ok := s[k]; !ok {
				t.Errorf("client.%s has field %q (%s) that the server's %T does not", name, k, c[k], tc.server)
			}
		}
	}
}

// TestJSONShapeSeesADifference checks the comparison itself on a renamed
// and a retyped field.
func TestJSONShapeSeesADifference(t *testing.T) {
	type a struct {
		X int    `json:"x"`
		Y string `json:"y,omitempty"`
	}
	type b struct {
		X int64 `json:"x"`
		Z string
	}
	got := jsonShape(reflect.TypeOf(a{}))
	want := map[string]string{"x": "int", "y": "string,omitempty"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("shape of a = %v, want %v", got, want)
	}
	if got := jsonShape(reflect.TypeOf(b{})); !reflect.DeepEqual(got, map[string]string{"x": "int64", "Z": "string"}) {
		t.Fatalf("shape of b = %v", got)
	}
}

var (
	timeType      = reflect.TypeOf(time.Time{})
	marshalerType = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	textType      = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// jsonShape maps each JSON path of t ("source.every", "skipped[].url") to
// what is written there: a kind, "json" for a type with its own encoding,
// plus the tag's options.
func jsonShape(t reflect.Type) map[string]string {
	out := map[string]string{}
	walkShape(t, "", "", out)
	return out
}

func walkShape(t reflect.Type, path, opts string, out map[string]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		out[path] = "time" + opts
		return
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) ||
		t.Implements(textType) || reflect.PointerTo(t).Implements(textType):
		out[path] = "json" + opts
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if path != "" {
			out[path] = "object" + opts
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, o, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				walkShape(f.Type, path, "", out) // embedded: its fields are ours
				continue
			}
			if name == "" {
				name = f.Name
			}
			if o != "" {
				o = "," + o
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			walkShape(f.Type, p, o, out)
		}
	case reflect.Slice, reflect.Array:
		out[path] = "array" + opts
		walkShape(t.Elem(), path+"[]", "", out)
	case reflect.Map:
		out[path] = "map[" + t.Key().Kind().String() + "]" + opts
		walkShape(t.Elem(), path+"{}", "", out)
	default:
		out[path] = t.Kind().String() + opts
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
