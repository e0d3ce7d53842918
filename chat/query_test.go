package chat

import (
	"strings"
	"testing"

	"github.com/chatbot/chatbot/store"
)

func TestSmallTalk(t *testing.T) {
	tests := []struct {
		text string
		kind smallTalkKind
		lang string
	}{
		{"hi", greeting, "en"},
		{"Hello there!!", greeting, "en"},
		{"good morning team", greeting, "en"},
		{"Guten Tag", greeting, "de"},
		{"hi, thanks!", thanks, "en"},
		{"merci beaucoup", thanks, "fr"},
		{"Thanks Ada", thanks, "en"},
		{"bye", goodbye, "en"},
		{"hi, how do I reset my password?", notSmallTalk, ""},
		{"thanks but it still does not work", notSmallTalk, ""},
		{"you", notSmallTalk, ""},
		{"", notSmallTalk, ""},
		{"hi hi hi hi hi hi hi", notSmallTalk, ""}, // too long to be just a greeting
	}
	for _, tt := range tests {
		kind, lang := smallTalk(tt.text, "Ada")
		if kind != tt.kind || lang != tt.lang {
			t.Errorf("smallTalk(%q) = %v %q, want %v %q", tt.text, kind, lang, tt.kind, tt.lang)
		}
	}
}

func TestIsFollowUp(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"and how long is it valid?", true},
		{"what about Germany?", true},
		{"does that work on Android?", true},
		{"How do I reset my password from the settings page?", false},
		{"Which payment methods do you accept for invoices?", false},
		{"???", false},
	}
	for _, tt := range tests {
		if got := isFollowUp(tt.text); got != tt.want {
			t.Errorf("isFollowUp(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestExpandQuery(t *testing.T) {
	history := []store.Turn{
		{Role: store.RoleUser, Text: "Can I get a refund for my annual subscription?"},
		{Role: store.RoleAssistant, Text: "Yes, within 30 days [1]."},
	}
	tests := []struct {
		q, want string
		max     int
	}{
		{"and how long is it valid?", "and how long is it valid? refund annual subscription", 8},
		{"and the annual one?", "and the annual one? refund subscription", 8},
		{"and how long?", "and how long? refund", 1},
	}
	for _, tt := range tests {
		if got := expandQuery(tt.q, history, tt.max); got != tt.want {
			t.Errorf("expandQuery(%q) = %q, want %q", tt.q, got, tt.want)
		}
	}
	if got := expandQuery("and then?", nil, 8); got != "and then?" {
		t.Errorf("no history: %q", got)
	}
}

func TestCleanRewrite(t *testing.T) {
	tests := []struct {
		out, want string
		ok        bool
	}{
		{"How long is a refund valid?", "How long is a refund valid?", true},
		{"\"How long is a refund valid?\"\nBecause the user asked...", "How long is a refund valid?", true},
		{"Standalone question: Is it free?", "Is it free?", true},
		{"   ", "", false},
		{"!!!", "", false},
		{strings.Repeat("word ", 100), "", false},
	}
	for _, tt := range tests {
		got, ok := cleanRewrite(tt.out, "and is it free?")
		if got != tt.want || ok != tt.ok {
			t.Errorf("cleanRewrite(%.30q) = %q %v, want %q %v", tt.out, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEstimateTokens(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"", 0},
		{"hello", 2},
		{"How do I get a refund?", 6},
		{"a b c d e f g h", 8},
		{"パスワードをリセットするには", 11},
	}
	for _, tt := range tests {
		if got := estimateTokens(tt.s); got != tt.want {
			t.Errorf("estimateTokens(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

// FuzzUserText: whatever a user sends, the query helpers neither panic nor
// lose the user's words.
func FuzzUserText(f *testing.F) {
	for _, s := range []string{"and how long is it valid?", "hi!", "Danke schön", "パスワード", "\x00\xff", "it's", strings.Repeat("a ", 500)} {
		f.Add(s, "How do I get a refund?")
	}
	f.Fuzz(func(t *testing.T, q, prev string) {
		history := []store.Turn{{Role: store.RoleUser, Text: prev}}
		if got := expandQuery(q, history, 8); !strings.HasPrefix(got, q) {
			t.Fatalf("expandQuery(%q) = %q", q, got)
		}
		smallTalk(q, prev)
		isFollowUp(q)
		if estimateTokens(q) < 0 {
			t.Fatal("negative estimate")
		}
		if out, ok := cleanRewrite(q, prev); ok && (strings.Contains(out, "\n") || out == "") {
			t.Fatalf("cleanRewrite(%q) = %q", q, out)
		}
	})
}

func TestGuessLanguage(t *testing.T) {
	tests := []struct{ text, want string }{
		{"How do I reset my password?", "en"},
		{"Wie setze ich mein Passwort zurück?", "de"},
		{"Comment est-ce que je change mon mot de passe ?", "fr"},
		{"¿Cómo puedo cambiar mi contraseña?", "es"},
		{"la", "en"},         // one ambiguous word is not enough
		{"パスワードをリセット", "en"}, // no canned Japanese: English
	}
	for _, tt := range tests {
		if got := guessLanguage(tt.text); got != tt.want {
			t.Errorf("guessLanguage(%q) = %s, want %s", tt.text, got, tt.want)
		}
	}
}
