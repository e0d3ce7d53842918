package livechat

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDetectDefaults(t *testing.T) {
	d := NewDetector(nil, nil)
	tests := []struct {
		text   string
		want   bool
		phrase string
	}{
		// Every default phrase of the issue.
		{"talk to agent", true, "talk to agent"},
		{"Can I talk to a human?", true, "talk to human"},
		{"live chat", true, "live chat"},
		{"I want a REAL person!!", true, "real person"},
		{"I want a person", true, "want person"},
		{"could I speak to someone", true, "speak to someone"},
		{"Agent, please.", true, "agent"},
		{"my agent, please", true, "agent please"},
		// Articles and punctuation do not matter.
		{"I'd like to talk to an agent", true, "talk to agent"},
		{"talk   to\tthe agent", true, "talk to agent"},
		{"LIVE-CHAT", true, "live chat"},
		{"speak to someone…", true, "speak to someone"},
		// Curly apostrophes and contractions.
		{"I don’t know, can I talk to a human?", true, "talk to human"},
		{"why can't I talk to a human", true, "talk to human"},
		{"No, I want to talk to an agent", true, "talk to agent"},
		{"I don't need the FAQ but I need a human", true, "need human"},
		// Alone words.
		{"agent", true, "agent"},
		{"Human please!", true, "human"},
		{"hi operator", true, "operator"},
		// A negation of something else in the same clause does not refuse
		// the request that follows it.
		{"This is not helpful I want to talk to a human", true, "talk to human"},
		{"your bot is not working i need a human", true, "need human"},
		{"I'm not sure, talk to agent", true, "talk to agent"},
		{"not now I need a human", true, "need human"},
		{"nobody answers my emails, I need a human", true, "need human"},
		{"I do not want the FAQ I want a human", true, "want human"},
		{"I don't like this bot talk to a human", true, "talk to human"},
		{"are you a bot? if not connect me to an agent", true, "connect me to agent"},
		{"I don't know can I talk to a human", true, "talk to human"},
		// Negation that governs the request: must not trigger.
		{"I do not want to talk to an agent", false, ""},
		{"I don't need a human", false, ""},
		{"no, not a real person", false, ""},
		{"I don't need a human agent", false, ""},
		{"I do not really want to speak to someone", false, ""},
		{"I don't think I need a human", false, ""},
		{"I never asked to talk to an agent", false, ""},
		{"don't connect me to an agent", false, ""},
		{"no human please", false, ""},
		{"I would not like to talk to a person", false, ""},
		{"I don't want to be able to talk to an agent", false, ""},
		{"I don't need help from a human agent", false, ""},
		{"I don't want to talk to an agent", false, ""},
		{"I don’t want to talk to an agent", false, ""},
		{"I dont want a live chat, just the docs", false, ""},
		{"no need for a real person", false, ""},
		{"never connect me to an agent", false, ""},
		{"I won't talk to a human", false, ""},
		// A question about the bot itself is answered by the bot.
		{"Are you a real person?", false, ""},
		{"hello, are you really a real human?", false, ""},
		{"is this a live chat?", false, ""},
		{"am I talking to a real person", false, ""},
		{"Are you a real person? I want to talk to a human", true, "talk to human"},
		{"Is it possible to talk to a human?", true, "talk to human"},
		// Word boundaries: not substrings of other words.
		{"deliver chatter", false, ""},
		{"the alive chat log", false, ""},
		{"is the agent field required?", false, ""},
		{"reagent please", false, ""},
		{"humanity please", false, ""},
		{"talk to agents", false, ""},
		// Nothing at all.
		{"", false, ""},
		{"how do I reset my password?", false, ""},
		{"!!!", false, ""},
	}
	for _, tt := range tests {
		m, ok := d.Detect(tt.text)
		if ok != tt.want || m.Phrase != tt.phrase {
			t.Errorf("Detect(%q) = %q, %v; want %q, %v", tt.text, m.Phrase, ok, tt.phrase, tt.want)
		}
	}
}

func TestDetectConfiguredPhrases(t *testing.T) {
	d := NewDetector([]string{"Mensch bitte", "  Kundendienst ", "!!"}, []string{})
	tests := []struct {
		text string
		want bool
	}{
		{"Mensch, bitte!", true},
		{"KUNDENDIENST", true},
		{"talk to agent", false}, // the defaults are replaced, not extended
		{"agent", false},         // no alone words
		{"!!", false},            // a phrase of punctuation only is ignored
	}
	for _, tt := range tests {
		if _, ok := d.Detect(tt.text); ok != tt.want {
			t.Errorf("Detect(%q) = %v, want %v", tt.text, ok, tt.want)
		}
	}
}

func TestNormalise(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"I Don't  want", []string{"i", "do", "not", "want"}},
		{"talk to the agent.", []string{"talk", "to", "agent", clauseEnd}},
		{"a, b; c", []string{clauseEnd, "b", clauseEnd, "c"}},
		{"it's user's", []string{"it", "s", "user", "s"}},
		{"ÜBER café", []string{"über", "café"}},
		{"'quoted'", []string{"quoted"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := normalise(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("normalise(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzDetect: Detect never panics, is deterministic, and ignores case and
// surrounding punctuation.
func FuzzDetect(f *testing.F) {
	for _, s := range []string{"talk to agent", "I do not want to talk to an agent", "agent please", "’`'", "live\x00chat", "\xff\xfe"} {
		f.Add(s)
	}
	d := NewDetector(nil, nil)
	f.Fuzz(func(t *testing.T, text string) {
		m1, ok1 := d.Detect(text)
		m2, ok2 := d.Detect(text)
		if m1 != m2 || ok1 != ok2 {
			t.Fatalf("not deterministic on %q", text)
		}
		if !utf8.ValidString(text) {
			return
		}
		if m3, ok3 := d.Detect(" " + strings.ToUpper(text) + " "); ok3 != ok1 && strings.ToLower(strings.ToUpper(text)) == strings.ToLower(text) {
			t.Fatalf("case changed the result on %q: %v/%q vs %v/%q", text, ok1, m1.Phrase, ok3, m3.Phrase)
		}
	})
}
