package chat

import (
	"strconv"
	"strings"

	"github.com/chatbot/chatbot/embed"
)

// urlResolver is a Retriever that knows its documents' public URLs
// (*rag.Index): the passages it found get them before an answer cites
// them, so customers see a link, never a file path.
type urlResolver interface {
	WithURLs(ps []Passage) []Passage
}

func (e *Engine) withURLs(ps []Passage) []Passage {
	if r, ok := e.cfg.Retriever.(urlResolver); ok {
		return r.WithURLs(ps)
	}
	return ps
}

// sourcesLabel heads the list of cited sources under an LLM answer, in the
// language of the user's message (English for any other).
var sourcesLabel = map[embed.Lang]string{
	embed.English: "Sources", embed.German: "Quellen", embed.French: "Sources", embed.Spanish: "Fuentes",
	embed.Portuguese: "Fontes", embed.Italian: "Fonti", embed.Arabic: "المصادر",
}

// listCitations makes an LLM answer's citations something a customer can
// follow. The model cites passages by their number in the prompt ([3],
// [1, 2]); those numbers mean nothing outside it. The markers are
// renumbered 1, 2, ... in order of first citation, and a list under the
// answer gives each number its source: the title, linked to the
// document's public URL when known (Markdown, which the widget renders
// and message_plain turns into "title (url)"), never a file path.
// Passages of one document section (same title and URL) share a number.
// answer must hold only citations of existing passages (mapCitations);
// without any it is returned as it is.
func listCitations(answer string, passages []Passage, lang embed.Lang) string {
	number := map[int]int{} // passage number -> number in the list
	byKey := map[string]int{}
	var lines []string
	out := citation.ReplaceAllStringFunc(answer, func(m string) string {
		var keep []string
		seen := map[int]bool{}
		for _, f := range strings.Split(m[1:len(m)-1], ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > len(passages) {
				continue
			}
			if _, ok := number[n]; !ok {
				label, url := citationLabel(passages[n-1])
				key := label + "\x00" + url
				if i, ok := byKey[key]; ok {
					number[n] = i
				} else {
					lines = append(lines, citationLine(len(lines)+1, label, url))
					byKey[key], number[n] = len(lines), len(lines)
				}
			}
			if i := number[n]; !seen[i] {
				seen[i] = true
				keep = append(keep, strconv.Itoa(i))
			}
		}
		if len(keep) == 0 {
			return ""
		}
		return "[" + strings.Join(keep, ", ") + "]"
	})
	if len(lines) == 0 {
		return answer
	}
	label, ok := sourcesLabel[lang]
	if !ok {
		label = sourcesLabel[embed.English]
	}
	return strings.TrimSpace(out) + "\n\n" + label + ":\n" + strings.Join(lines, "\n")
}

// citationLabel is what a customer is shown for a passage: its title (and
// heading), and its public URL when known (the passage's URL, or its
// source when that is a web address, a crawled page). Without a title, the
// URL stands for it; without either, the passage's first words.
func citationLabel(p Passage) (label, url string) {
	url = p.URL
	if url == "" {
		url = p.Source
	}
	if !isWebAddress(url) { // a path, or a scheme no customer should follow
		url = ""
	}
	label = oneLine(passageTitle(p))
	if label == "" {
		label = url
	}
	if label == "" {
		ws := strings.Fields(p.Text)
		if len(ws) > 8 {
			ws = append(ws[:8], "…")
		}
		label = strings.Join(ws, " ")
	}
	return label, url
}

// citationLine is one entry of the list: "1. [Title](url)", or "1. Title"
// without a URL. Brackets in the title would end the link text, and
// spaces or parentheses in the URL the link: they are replaced and
// escaped.
func citationLine(n int, label, url string) string {
	label = strings.NewReplacer("[", "(", "]", ")").Replace(label)
	if url == "" {
		return strconv.Itoa(n) + ". " + label
	}
	url = strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E").Replace(url)
	return strconv.Itoa(n) + ". [" + label + "](" + url + ")"
}

// isWebAddress reports whether a source is an http(s) URL (a crawled
// page) rather than a path on the machine that ran the ingest.
func isWebAddress(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}
