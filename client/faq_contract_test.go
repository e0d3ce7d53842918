package client

import (
	"reflect"
	"testing"

	"github.com/chatbot/chatbot/faq"
	"github.com/chatbot/chatbot/store"
)

// TestFAQTypesMatchTheServers is TestTypesMatchTheServers for the curated
// answers' API.
func TestFAQTypesMatchTheServers(t *testing.T) {
	for _, tc := range []struct{ client, server any }{
		{FAQ{}, store.FAQ{}},
		{FAQInput{}, faq.Input{}},
		{FAQPair{}, faq.Pair{}},
		{FAQImport{}, faq.ImportResult{}},
		{FAQMatch{}, faq.MatchResult{}},
		{faqView{}, faq.View{}},
	} {
		c, s := jsonShape(reflect.TypeOf(tc.client)), jsonShape(reflect.TypeOf(tc.server))
		if !reflect.DeepEqual(c, s) {
			t.Errorf("%T has the JSON shape\n%v\nthe server's %T has\n%v", tc.client, c, tc.server, s)
		}
	}
}
