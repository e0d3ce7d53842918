package rag

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"unicode"
)

// maxURLBytes bounds a document's public URL (front matter or base URL).
const maxURLBytes = 2048

// PublicURL checks a document's public address as a customer will follow
// it: an absolute http or https URL with a host, no user info, no spaces
// or control characters. It returns the URL as given (trimmed). Anything
// else (a javascript: link, a relative path) is refused: it would be shown
// to customers as a link.
func PublicURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("empty URL")
	}
	if len(raw) > maxURLBytes {
		return "", fmt.Errorf("URL longer than %d bytes", maxURLBytes)
	}
	if strings.IndexFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", errors.New("URL contains spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("not a URL: %w", err)
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return "", fmt.Errorf("URL must start with http:// or https://, not %q", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("URL %q has no host", raw)
	}
	if u.User != nil {
		return "", fmt.Errorf("URL %q must not contain a user name or password", raw)
	}
	return raw, nil
}

// JoinBaseURL is a document's public URL under a base URL: the document's
// path relative to the ingested folder, without its extension, joined to
// the base ("refunds.md" under https://help.example.com/ is
// https://help.example.com/refunds). An index file is its folder
// ("guides/index.md" is .../guides/), as static site generators publish
// it. The base is treated as a folder whether or not it ends in '/'; its
// query and fragment are dropped. base must have passed PublicURL.
func JoinBaseURL(base, rel string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("base URL: %w", err)
	}
	rel = strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(rel, "\\", "/")), "/")
	rel = strings.TrimSuffix(rel, path.Ext(rel))
	folder := false
	if name := path.Base(rel); strings.EqualFold(name, "index") {
		rel, folder = strings.TrimSuffix(path.Dir(rel), "."), true
	}
	var segs []string
	for _, s := range strings.Split(rel, "/") {
		if s != "" {
			segs = append(segs, url.PathEscape(s))
		}
	}
	p := strings.TrimSuffix(u.EscapedPath(), "/") + "/" + strings.Join(segs, "/")
	if folder && len(segs) > 0 {
		p += "/"
	}
	out := u.Scheme + "://" + u.Host + p
	return PublicURL(out)
}

// frontMatter splits a Markdown file's YAML front matter ("---" lines
// around it, at the very start) from its body and reads the top-level
// scalar keys of it ("url: https://...", quotes optional). Nested values,
// lists and anything else are ignored: only url is used. Without front
// matter, meta is empty and body is lines. A hand-written reader: the
// whole of YAML is not needed for two scalar keys, and the YAML module in
// the dependency graph (gopkg.in/yaml.v3) is no longer maintained.
func frontMatter(lines []string) (meta map[string]string, body []string) {
	meta = map[string]string{}
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "---" {
		return meta, lines
	}
	for i := 1; i < len(lines) && i < 200; i++ {
		t := strings.TrimSpace(lines[i])
		if t == "---" || t == "..." {
			for _, l := range lines[1:i] {
				if k, v, ok := frontMatterLine(l); ok {
					meta[k] = v
				}
			}
			return meta, lines[i+1:]
		}
	}
	return meta, lines // not closed: not front matter
}

// frontMatterLine reads "key: value" at the top level (not indented, not
// a comment or a list item); the value loses its quotes and a trailing
// " # comment".
func frontMatterLine(l string) (key, value string, ok bool) {
	if l == "" || l[0] == ' ' || l[0] == '\t' || l[0] == '#' || l[0] == '-' {
		return "", "", false
	}
	key, value, ok = strings.Cut(l, ":")
	if !ok {
		return "", "", false
	}
	key = strings.ToLower(strings.TrimSpace(key))
	value = strings.TrimSpace(value)
	if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') {
		if end := strings.IndexByte(value[1:], value[0]); end >= 0 {
			return key, value[1 : 1+end], key != ""
		}
	}
	if i := strings.Index(value, " #"); i >= 0 {
		value = strings.TrimSpace(value[:i])
	}
	return key, value, key != ""
}

// markdownURL is the front matter url of a Markdown file's raw bytes ("" for
// other formats or none): what Parse would record, read without parsing
// the whole document, to tell whether an unchanged file's URL is current.
func markdownURL(format Format, b []byte) string {
	if format != FormatMarkdown {
		return ""
	}
	head := bytes.TrimPrefix(b[:min(len(b), 16<<10)], []byte("\xef\xbb\xbf"))
	meta, _ := frontMatter(strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n"))
	u, err := PublicURL(meta["url"])
	if err != nil {
		return ""
	}
	return u
}
