package tools

import (
	"fmt"
	"regexp"
	"strings"
)

// A template is text with placeholders:
//
//	{name}    a parameter (in a URL) or a response field or parameter (in
//	          an answer); name may be a dotted path: {shipping.eta}
//	{{name}}  an identity value from the platform's payload: user_id,
//	          conversation_id, username, platform, or metadata.KEY
//
// There is no escape for a literal brace: URLs and answers do not need one,
// and a stray brace is far more often a typo than intent.
type Template struct {
	segs []segment
}

type segment struct {
	lit      string // literal text, when name is empty
	name     string
	identity bool // {{name}}
	pos      int  // byte offset of the placeholder in the template, for errors
}

var placeholderName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)

// maxTemplateBytes bounds a template; declarations are typed by operators.
const maxTemplateBytes = 4096

// ParseTemplate reads a template. Errors say where the problem is.
func ParseTemplate(s string) (Template, error) {
	if len(s) > maxTemplateBytes {
		return Template{}, fmt.Errorf("is longer than %d bytes", maxTemplateBytes)
	}
	var t Template
	lit := strings.Builder{}
	for i := 0; i < len(s); {
		switch s[i] {
		case '}':
			return Template{}, fmt.Errorf("has a '}' without its '{' at byte %d", i)
		case '{':
			identity := strings.HasPrefix(s[i:], "{{")
			open, closing := "{", "}"
			if identity {
				open, closing = "{{", "}}"
			}
			end := strings.Index(s[i+len(open):], closing)
			if end < 0 {
				return Template{}, fmt.Errorf("has a %q without its %q at byte %d", open, closing, i)
			}
			name := s[i+len(open) : i+len(open)+end]
			if !placeholderName.MatchString(name) {
				return Template{}, fmt.Errorf("has a placeholder %q at byte %d: a name is letters, digits and _, dotted for nested fields", open+name+closing, i)
			}
			if lit.Len() > 0 {
				t.segs = append(t.segs, segment{lit: lit.String()})
				lit.Reset()
			}
			t.segs = append(t.segs, segment{name: name, identity: identity, pos: i})
			i += len(open) + end + len(closing)
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	if lit.Len() > 0 {
		t.segs = append(t.segs, segment{lit: lit.String()})
	}
	return t, nil
}

// Names lists the placeholders, identity ones or the others, in order.
func (t Template) Names(identity bool) []string {
	var out []string
	for _, s := range t.segs {
		if s.name != "" && s.identity == identity {
			out = append(out, s.name)
		}
	}
	return out
}

// Render fills the placeholders with value(name, identity, literalBefore);
// literalBefore is the template's text before the placeholder, so that a
// URL can escape a path value apart from a query value. A value that is
// missing makes the error name it.
func (t Template) Render(value func(name string, identity bool, before string) (string, bool)) (string, error) {
	var b, before strings.Builder
	for _, s := range t.segs {
		if s.name == "" {
			b.WriteString(s.lit)
			before.WriteString(s.lit)
			continue
		}
		v, ok := value(s.name, s.identity, before.String())
		if !ok {
			if s.identity {
				return "", fmt.Errorf("no value for {{%s}}", s.name)
			}
			return "", fmt.Errorf("no value for {%s}", s.name)
		}
		b.WriteString(v)
		before.WriteString("_") // a placeholder is not literal text
	}
	return b.String(), nil
}
