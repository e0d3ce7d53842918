package webhook

import (
	"regexp"
	"strings"
)

// Answers are written in a small Markdown subset (quotes, lists, emphasis,
// links). A platform that renders Markdown shows the payload's message; one
// that shows text as it is gets message_plain, the same answer without the
// markup, so its users never see "> " or "**".

var (
	mdLink     = regexp.MustCompile(`\[([^\]\n]+)\]\(([^)\s]+)\)`)
	mdStrong   = regexp.MustCompile(`(\*\*|__)([^*_\n]+)(\*\*|__)`)
	mdEmphasis = regexp.MustCompile(`(^|[\s(])[*_]([^*_\s][^*_\n]*?)[*_]([\s).,;:!?]|$)`)
	mdCode     = regexp.MustCompile("`([^`\n]+)`")
	mdOrdered  = regexp.MustCompile(`^(\s*)\d+[.)]\s+`)
)

// PlainText renders Markdown text as plain text: quote markers and heading
// hashes dropped, list items as "• item" (numbered ones keep their number),
// emphasis and code marks removed, links as "text (url)".
func PlainText(md string) string {
	lines := strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n")
	for i, l := range lines {
		l = strings.TrimRight(l, " \t")
		for strings.HasPrefix(strings.TrimLeft(l, " "), ">") {
			l = strings.TrimPrefix(strings.TrimLeft(l, " "), ">")
			l = strings.TrimPrefix(l, " ")
		}
		if t := strings.TrimLeft(l, " "); strings.HasPrefix(t, "#") {
			l = strings.TrimLeft(strings.TrimLeft(t, "#"), " ")
		}
		indent := len(l) - len(strings.TrimLeft(l, " "))
		if t := l[indent:]; strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "* ") || strings.HasPrefix(t, "+ ") {
			l = l[:indent] + "• " + t[2:]
		} else if strings.TrimSpace(l) == "---" {
			l = ""
		}
		// Each expression only where its marks are: every delivery renders
		// its answer here, and running all four on every line was a
		// quarter of a delivery's CPU under load.
		if strings.Contains(l, "](") {
			l = mdLink.ReplaceAllStringFunc(l, func(m string) string {
				p := mdLink.FindStringSubmatch(m)
				if p[1] == p[2] {
					return p[2]
				}
				return p[1] + " (" + p[2] + ")"
			})
		}
		if strings.Contains(l, "**") || strings.Contains(l, "__") {
			l = mdStrong.ReplaceAllString(l, "$2")
		}
		if strings.ContainsAny(l, "*_") {
			l = mdEmphasis.ReplaceAllString(l, "$1$2$3")
		}
		if strings.IndexByte(l, '`') >= 0 {
			l = mdCode.ReplaceAllString(l, "$1")
		}
		lines[i] = l
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
