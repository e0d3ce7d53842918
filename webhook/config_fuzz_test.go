package webhook

import (
	"testing"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// FuzzConfigInput feeds arbitrary bodies through strict decoding and
// validation: every outcome is a valid config or an Invalid error, never a
// panic or another kind of error.
func FuzzConfigInput(f *testing.F) {
	for _, seed := range []string{
		validConfig, `{}`, `{"name":null}`, `{"custom_headers":{"a":"b"}}`, `{"timeout_seconds":1e309}`,
		`{"name":"\u0000"}`, `{"outgoing_webhook_url":"http://[::1"}`, `[]`, `{"name":"a"}{"name":"b"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in ConfigInput
		if err := httpapi.Unmarshal(body, &in); err != nil {
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("decode error with code %s: %v", apperr.CodeOf(err), err)
			}
			return
		}
		c := &store.WebhookConfig{}
		if err := apply(c, in); err != nil && apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("validation error with code %s: %v", apperr.CodeOf(err), err)
		}
	})
}
