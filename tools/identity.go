package tools

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Identity is what the platform's payload says about who is asking. Only
// these values may stand for the user in a request ({{user_id}}): never a
// model's arguments or the user's own words, so that a user cannot ask
// about someone else's order by typing another id.
type Identity struct {
	UserID         string
	ConversationID string
	Username       string
	Platform       string
	// Metadata is the platform's free-form object ({{metadata.plan}}).
	Metadata json.RawMessage
}

// identitySources are the names an identity placeholder may use, besides
// metadata.KEY.
var identitySources = map[string]bool{"user_id": true, "conversation_id": true, "username": true, "platform": true}

func validIdentity(name string) bool {
	return identitySources[name] || (strings.HasPrefix(name, "metadata.") && len(name) > len("metadata."))
}

// Value is the identity value called name; ok is false when the payload
// has none (an empty value counts as none).
func (id Identity) Value(name string) (string, bool) {
	var v string
	switch name {
	case "user_id":
		v = id.UserID
	case "conversation_id":
		v = id.ConversationID
	case "username":
		v = id.Username
	case "platform":
		v = id.Platform
	default:
		path, ok := strings.CutPrefix(name, "metadata.")
		if !ok || len(id.Metadata) == 0 {
			return "", false
		}
		var doc any
		if err := json.Unmarshal(id.Metadata, &doc); err != nil {
			return "", false
		}
		v, ok = scalarAt(doc, path)
		if !ok {
			return "", false
		}
	}
	return v, v != ""
}

// scalarAt is the string form of the scalar at a dotted path of a decoded
// JSON document (objects by key, arrays by index); ok is false for a
// missing path, null, an object or an array.
func scalarAt(doc any, path string) (string, bool) {
	cur := doc
	for _, part := range strings.Split(path, ".") {
		switch n := cur.(type) {
		case map[string]any:
			v, ok := n[part]
			if !ok {
				return "", false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(n) {
				return "", false
			}
			cur = n[i]
		default:
			return "", false
		}
	}
	switch v := cur.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}
