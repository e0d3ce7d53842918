package tools

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
)

var (
	toolName  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	paramName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	fieldPath = regexp.MustCompile(`^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$`)
	enabledIn = regexp.MustCompile(`^(\*|cli|(webhook|widget):[1-9][0-9]{0,18})$`)
)

// reservedHeaders are set by the call itself.
var reservedHeaders = map[string]bool{"Host": true, "Content-Length": true, "Content-Type": true,
	"Transfer-Encoding": true, "Connection": true, "Authorization": true, "Cookie": true}

// Compile validates t and prepares it. Errors name the field and say how
// to fix it; defaults fill the empty method and auth kind.
func Compile(t Tool) (*Compiled, error) {
	c := &Compiled{Tool: t, headers: map[string]Template{}, patterns: map[string]*regexp.Regexp{},
		finders: map[string]*regexp.Regexp{}, fields: map[string]bool{}}
	if !toolName.MatchString(t.Name) {
		return nil, fieldErr("name", "must be 1 to 64 lower-case letters, digits, _ or -, starting with a letter or digit (e.g. order_status)")
	}
	if utf8.RuneCountInString(t.Description) > 1000 {
		return nil, fieldErr("description", "must be at most 1000 characters")
	}
	c.Method = strings.ToUpper(strings.TrimSpace(t.Method))
	switch c.Method {
	case "":
		c.Method = http.MethodGet
	case http.MethodGet:
	case http.MethodPost:
		if !t.ReadOnly {
			return nil, fieldErr("method", "POST is only for read-only lookups: set \"read_only\": true if this call changes nothing (tools that change data are not supported)")
		}
	default:
		return nil, fieldErr("method", "must be GET, or POST for a lookup declared read_only")
	}
	if err := c.compileParams(); err != nil {
		return nil, err
	}
	if err := c.compileURL(); err != nil {
		return nil, err
	}
	if err := c.compileHeaders(); err != nil {
		return nil, err
	}
	if err := c.compileAuth(); err != nil {
		return nil, err
	}
	if err := c.compileTriggers(); err != nil {
		return nil, err
	}
	if err := c.compileAnswer(); err != nil {
		return nil, err
	}
	if err := c.Limits.check(); err != nil {
		return nil, err
	}
	if len(t.EnabledFor) > 100 {
		return nil, fieldErr("enabled_for", "lists at most 100 places")
	}
	for i, e := range t.EnabledFor {
		if !enabledIn.MatchString(e) {
			return nil, fieldErr("enabled_for["+strconv.Itoa(i)+"]", "%q must be \"*\", \"cli\", \"webhook:ID\" or \"widget:ID\"", e)
		}
	}
	return c, nil
}

func (c *Compiled) compileParams() error {
	if len(c.Params) > maxListLen {
		return fieldErr("params", "declare at most %d parameters", maxListLen)
	}
	seen := map[string]bool{}
	for i, p := range c.Params {
		f := "params[" + strconv.Itoa(i) + "]"
		if !paramName.MatchString(p.Name) {
			return fieldErr(f+".name", "must be 1 to 40 lower-case letters, digits or _, starting with a letter")
		}
		if seen[p.Name] {
			return fieldErr(f+".name", "%q is declared twice", p.Name)
		}
		seen[p.Name] = true
		if utf8.RuneCountInString(p.Description) > 500 {
			return fieldErr(f+".description", "must be at most 500 characters")
		}
		if p.Pattern == "" {
			continue
		}
		if len(p.Pattern) > 500 {
			return fieldErr(f+".pattern", "must be at most 500 characters")
		}
		re, err := regexp.Compile(`^(?:` + p.Pattern + `)$`)
		if err != nil {
			return fieldErr(f+".pattern", "is not a valid regular expression (RE2 syntax): %v", err)
		}
		c.patterns[p.Name] = re
		c.finders[p.Name] = regexp.MustCompile(`(?:` + p.Pattern + `)`)
	}
	return nil
}

func (c *Compiled) compileURL() error {
	tpl, err := ParseTemplate(c.URL)
	if err != nil {
		return fieldErr("url", "%v", err)
	}
	// The template with placeholders filled in must be an absolute http(s)
	// URL whose scheme and host are the template's own: a value can only
	// ever land in the path or the query.
	probe, _ := tpl.Render(func(string, bool, string) (string, bool) { return "x", true })
	head, _, _ := strings.Cut(c.URL, "{")
	u, err := url.Parse(probe)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fieldErr("url", "must be an absolute http:// or https:// URL, e.g. https://api.example.com/orders/{order_id}")
	case u.User != nil:
		return fieldErr("url", "must not carry a user name or password; use auth")
	case strings.Contains(c.URL, "#"):
		return fieldErr("url", "must not have a #fragment")
	case head != c.URL && !strings.Contains(strings.TrimPrefix(strings.TrimPrefix(head, "https://"), "http://"), "/"):
		return fieldErr("url", "must spell out its host: placeholders may stand only in the path or the query")
	}
	for _, name := range tpl.Names(true) {
		if !validIdentity(name) {
			return fieldErr("url", "{{%s}} is not an identity value: use {{user_id}}, {{conversation_id}}, {{username}}, {{platform}} or {{metadata.KEY}}", name)
		}
	}
	used := tpl.Names(false)
	for _, name := range used {
		if _, ok := c.Param(name); !ok {
			return fieldErr("url", "{%s} is not a declared parameter; declare it in params", name)
		}
	}
	if c.Method == http.MethodGet {
		for i, p := range c.Params {
			if !slices.Contains(used, p.Name) {
				return fieldErr("params["+strconv.Itoa(i)+"].name", "%q is not used in url; a GET sends parameters in the URL only", p.Name)
			}
		}
	}
	c.url = tpl
	return nil
}

func (c *Compiled) compileHeaders() error {
	if len(c.Headers) > maxListLen {
		return fieldErr("headers", "at most %d headers", maxListLen)
	}
	for name, v := range c.Headers {
		f := "headers[" + name + "]"
		if !httpguts.ValidHeaderFieldName(name) {
			return fieldErr(f, "is not a valid header name")
		}
		if reservedHeaders[http.CanonicalHeaderKey(name)] {
			return fieldErr(f, "is set by the call itself; use auth for credentials")
		}
		if !httpguts.ValidHeaderFieldValue(v) || len(v) > 1024 {
			return fieldErr(f, "must be at most 1024 bytes without control characters")
		}
		tpl, err := ParseTemplate(v)
		if err != nil {
			return fieldErr(f, "%v", err)
		}
		if len(tpl.Names(false)) > 0 {
			return fieldErr(f, "may hold identity values ({{user_id}}) only; parameters go in the url")
		}
		for _, name := range tpl.Names(true) {
			if !validIdentity(name) {
				return fieldErr(f, "{{%s}} is not an identity value: use {{user_id}}, {{conversation_id}}, {{username}}, {{platform}} or {{metadata.KEY}}", name)
			}
		}
		c.headers[name] = tpl
	}
	return nil
}

func (c *Compiled) compileAuth() error {
	a := &c.Auth
	a.Kind = strings.ToLower(strings.TrimSpace(a.Kind))
	if a.Kind == "" {
		a.Kind = AuthNone
	}
	switch a.Kind {
	case AuthNone:
		if a.Secret != "" || a.Username != "" || a.Header != "" {
			return fieldErr("auth", "kind none takes no secret, username or header")
		}
		return nil
	case AuthBearer, AuthAPIKey, AuthBasic:
	default:
		return fieldErr("auth.kind", "must be none, bearer, basic or api_key")
	}
	if a.Secret == "" {
		return fieldErr("auth.secret", "is required with auth kind %s", a.Kind)
	}
	if !httpguts.ValidHeaderFieldValue(a.Secret) || len(a.Secret) > 4096 {
		return fieldErr("auth.secret", "must be at most 4096 bytes without control characters")
	}
	switch a.Kind {
	case AuthAPIKey:
		if !httpguts.ValidHeaderFieldName(a.Header) || reservedHeaders[http.CanonicalHeaderKey(a.Header)] && http.CanonicalHeaderKey(a.Header) != "Authorization" {
			return fieldErr("auth.header", "must name the header carrying the key, e.g. X-Api-Key")
		}
	case AuthBasic:
		if a.Username == "" || strings.Contains(a.Username, ":") || !httpguts.ValidHeaderFieldValue(a.Username) {
			return fieldErr("auth.username", "is required with basic auth and must not contain ':'")
		}
	}
	return nil
}

func (c *Compiled) compileTriggers() error {
	if len(c.Triggers) > maxListLen || len(c.Examples) > maxListLen {
		return fieldErr("triggers", "at most %d triggers and %d examples", maxListLen, maxListLen)
	}
	for i, t := range c.Triggers {
		f := "triggers[" + strconv.Itoa(i) + "]"
		if len(t) > 1000 {
			return fieldErr(f, "must be at most 1000 characters")
		}
		re, err := regexp.Compile(t)
		if err != nil {
			return fieldErr(f, "is not a valid regular expression (RE2 syntax): %v", err)
		}
		for _, g := range re.SubexpNames() {
			if g == "" {
				continue
			}
			if _, ok := c.Param(g); !ok {
				return fieldErr(f, "group (?P<%s>...) names no declared parameter", g)
			}
		}
		c.triggers = append(c.triggers, re)
	}
	for i, e := range c.Examples {
		if utf8.RuneCountInString(e) > 500 {
			return fieldErr("examples["+strconv.Itoa(i)+"]", "must be at most 500 characters")
		}
	}
	return nil
}

func (c *Compiled) compileAnswer() error {
	if len(c.Fields) == 0 || len(c.Fields) > 50 {
		return fieldErr("fields", "list 1 to 50 response fields (dotted paths such as status or shipping.eta) that the answer may show")
	}
	for i, f := range c.Fields {
		if !fieldPath.MatchString(f) {
			return fieldErr("fields["+strconv.Itoa(i)+"]", "%q must be a dotted path of names or indexes, e.g. shipping.eta", f)
		}
		c.fields[f] = true
	}
	if strings.TrimSpace(c.Answer) == "" {
		return fieldErr("answer", "is required: the reply's text, e.g. \"Order {order_id} is {status}.\"")
	}
	tpl, err := ParseTemplate(c.Answer)
	if err != nil {
		return fieldErr("answer", "%v", err)
	}
	if len(tpl.Names(true)) > 0 {
		return fieldErr("answer", "may show response fields and parameters only, not identity values")
	}
	for _, name := range tpl.Names(false) {
		if _, isParam := c.Param(name); !isParam && !c.fields[name] {
			return fieldErr("answer", "{%s} is neither in fields nor a parameter; add it to fields to show it", name)
		}
	}
	c.answer = tpl
	if c.Ask == "" {
		c.Ask = "To look that up I need your {name}. What is it? (Say \"cancel\" to stop.)"
	}
	if utf8.RuneCountInString(c.Ask) > 500 {
		return fieldErr("ask", "must be at most 500 characters")
	}
	if c.ask, err = ParseTemplate(c.Ask); err != nil {
		return fieldErr("ask", "%v", err)
	}
	for _, name := range append(c.ask.Names(false), c.ask.Names(true)...) {
		if name != "name" && name != "description" {
			return fieldErr("ask", "may use {name} and {description} of the missing parameter only, not {%s}", name)
		}
	}
	return nil
}

func (l Limits) check() error {
	switch {
	case l.TimeoutSeconds < 0 || l.Timeout() > maxTimeout:
		return fieldErr("limits.timeout_seconds", "must be between 0 (default 5) and %d", int(maxTimeout.Seconds()))
	case l.MaxResponseBytes < 0 || l.MaxResponseBytes > maxResponseBytes:
		return fieldErr("limits.max_response_bytes", "must be between 0 (default 65536) and %d", maxResponseBytes)
	case l.CallsPerUserPerMinute < 0 || l.CallsPerUserPerMinute > maxCallsPerMinute:
		return fieldErr("limits.calls_per_user_per_minute", "must be between 0 (default %d) and %d", DefaultCallsPerMinute, maxCallsPerMinute)
	case l.CacheSeconds < 0 || l.CacheSeconds > maxCacheSeconds:
		return fieldErr("limits.cache_seconds", "must be between 0 (no cache) and %d", maxCacheSeconds)
	}
	return nil
}
