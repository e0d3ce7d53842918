package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// SectionsPerFile is how many sections (chunks) each generated file holds.
const SectionsPerFile = 50

var (
	kbAreas   = []string{"billing", "account", "shipping", "returns", "security", "mobile app", "integrations", "notifications", "subscriptions", "reports", "team", "api"}
	kbActions = []string{"reset", "change", "cancel", "update", "export", "delete", "enable", "disable", "download", "verify", "recover", "transfer", "renew", "connect", "share", "restore"}
	kbObjects = []string{"password", "invoice", "payment method", "email address", "order", "refund", "two-factor authentication", "profile photo", "delivery address", "plan", "api key", "webhook", "workspace", "backup", "receipt", "phone number", "language", "time zone", "report", "license"}
	kbFiller  = []string{
		"Open the %s page from the main menu and choose %s.",
		"If the %s option is greyed out, ask an administrator of your workspace to grant you the %s permission.",
		"Changes to your %s take effect within a few minutes; you will receive a confirmation email about the %s.",
		"On the mobile app the same %s setting is under Settings, then %s.",
		"For security reasons we may ask you to sign in again before you %s anything related to the %s.",
		"Customers on the free plan can %s up to three times per month; paid plans have no such limit on the %s.",
		"If something goes wrong, note the error code shown next to the %s and contact support with the %s.",
		"The history of every %s is kept for ninety days and can be exported as CSV from the %s screen.",
	}
	kbQuestions = []string{
		"how do I %s my %s?",
		"I can't %s the %s, what should I do?",
		"where can I %s my %s",
		"is it possible to %s a %s from the mobile app?",
		"Hello, I need help: how to %s %s",
	}
)

// KBInfo describes a generated knowledge base.
type KBInfo struct {
	Dir    string
	Files  int
	Chunks int   // sections written; each is one chunk at the default chunk size
	Bytes  int64 // total size of the files
}

// GenerateKB writes synthetic support documents with the given number of
// sections (each about 500 characters, one chunk at the default chunk size
// of 1,000) into dir, SectionsPerFile per Markdown file. The same seed
// writes the same files.
func GenerateKB(dir string, chunks int, seed uint64) (KBInfo, error) {
	if chunks <= 0 {
		return KBInfo{}, fmt.Errorf("chunks must be positive, not %d", chunks)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return KBInfo{}, fmt.Errorf("create knowledge-base directory: %w", err)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	info := KBInfo{Dir: dir}
	for written := 0; written < chunks; {
		n := min(SectionsPerFile, chunks-written)
		area := kbAreas[info.Files%len(kbAreas)]
		var b strings.Builder
		fmt.Fprintf(&b, "# %s guide, part %d\n\n", capitalize(area), info.Files+1)
		for s := 0; s < n; s++ {
			writeSection(&b, rng, area, written+s)
		}
		path := filepath.Join(dir, fmt.Sprintf("%s-%05d.md", strings.ReplaceAll(area, " ", "-"), info.Files+1))
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			return info, fmt.Errorf("write %s: %w", path, err)
		}
		info.Files++
		info.Bytes += int64(b.Len())
		written += n
	}
	info.Chunks = chunks
	return info, nil
}

func writeSection(b *strings.Builder, rng *rand.Rand, area string, n int) {
	action := kbActions[rng.IntN(len(kbActions))]
	object := kbObjects[rng.IntN(len(kbObjects))]
	fmt.Fprintf(b, "## How to %s your %s (%s, article %d)\n\n", action, object, area, n+1)
	fmt.Fprintf(b, "To %s your %s in %s, follow these steps.", action, object, area)
	for i := 0; i < 5; i++ {
		f := kbFiller[rng.IntN(len(kbFiller))]
		words := []string{object, action, area, kbObjects[rng.IntN(len(kbObjects))]}
		fmt.Fprintf(b, " "+f, words[rng.IntN(len(words))], words[rng.IntN(len(words))])
	}
	b.WriteString("\n\n")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Questions makes user questions about the generated topics: the i-th
// question of a seed is always the same.
type Questions struct{ seed uint64 }

// NewQuestions returns the question generator for seed.
func NewQuestions(seed uint64) Questions { return Questions{seed: seed} }

// At returns the i-th question.
func (q Questions) At(i int) string {
	rng := rand.New(rand.NewPCG(q.seed, uint64(i)))
	f := kbQuestions[rng.IntN(len(kbQuestions))]
	return fmt.Sprintf(f, kbActions[rng.IntN(len(kbActions))], kbObjects[rng.IntN(len(kbObjects))])
}
