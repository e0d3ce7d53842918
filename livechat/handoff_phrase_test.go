package livechat

import (
	"testing"

	"github.com/chatbot/chatbot/chat"
)

// The phrase the bot's fixed replies offer in each language ("reply
// 'mit einem Mitarbeiter sprechen'") is one the default detector hands
// over, written alone or inside a short sentence.
func TestOfferedHandoffPhrasesAreDetected(t *testing.T) {
	d := NewDetector(nil, nil)
	for _, lang := range chat.HandoffLanguages() {
		p := chat.HandoffPhrase(lang)
		if p == "" {
			t.Fatalf("%s: no hand-off phrase", lang)
		}
		for _, msg := range []string{p, p + "!", "ok, " + p} {
			if _, ok := d.Detect(msg); !ok {
				t.Errorf("%s: %q is not handed over", lang, msg)
			}
		}
	}
}
