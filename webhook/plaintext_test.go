package webhook

import "testing"

func TestPlainText(t *testing.T) {
	for _, c := range []struct{ md, want string }{
		{"> Reset your password under Settings > Security.\n(Account, https://help.example.com/account)",
			"Reset your password under Settings > Security.\n(Account, https://help.example.com/account)"},
		{"Refunds:\n\n- within **30 days**\n- with the receipt\n1. first\n2) second",
			"Refunds:\n\n• within 30 days\n• with the receipt\n1. first\n2) second"},
		{"See [our guide](https://help.example.com/guide) or https://x.example.", "See our guide (https://help.example.com/guide) or https://x.example."},
		{"[https://a.example](https://a.example)", "https://a.example"},
		{"Use `chatbot ask` and _never_ share *your* token; 2 * 3 = 6 and snake_case_name stay.",
			"Use chatbot ask and never share your token; 2 * 3 = 6 and snake_case_name stay."},
		{"## Shipping\n>> nested quote\n---\nend", "Shipping\nnested quote\n\nend"},
		{"plain text stays", "plain text stays"},
		{"", ""},
	} {
		if got := PlainText(c.md); got != c.want {
			t.Errorf("PlainText(%q)\n got %q\nwant %q", c.md, got, c.want)
		}
	}
}

func FuzzPlainText(f *testing.F) {
	f.Add("> quote\n- item **b** [l](u) `c`")
	f.Fuzz(func(t *testing.T, s string) {
		_ = PlainText(s) // no panic
	})
}

// Every delivery renders its answer's plain form (BENCHMARKS.md, round two).
func BenchmarkPlainText(b *testing.B) {
	md := "> To renew your order in account, follow these steps. Changes to your backup take effect within a few minutes.\n" +
		"  (Account guide > How to renew your order, https://help.example.com/account)\n\n" +
		"> Open the plan page from the main menu and choose account.\n  (Account guide > Plans)"
	for b.Loop() {
		PlainText(md)
	}
}
