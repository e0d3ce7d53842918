package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientImportsNothingOfTheServer pins that a program using the client
// does not link the server: no package of this module but the client, and
// neither bbolt nor an Ollama library, is among its dependencies.
func TestClientImportsNothingOfTheServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/chatbot/chatbot/client").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	var bad []string
	for _, pkg := range strings.Fields(string(out)) {
		if serverPackage(pkg) {
			bad = append(bad, pkg)
		}
	}
	if len(bad) > 0 {
		t.Fatalf("the client depends on the server: %v; give the client its own copy of the type instead of importing it", bad)
	}
}

func serverPackage(pkg string) bool {
	const module = "github.com/chatbot/chatbot"
	if pkg == module+"/client" {
		return false
	}
	return pkg == module || strings.HasPrefix(pkg, module+"/") ||
		strings.Contains(pkg, "bbolt") || strings.Contains(pkg, "ollama")
}

func TestServerPackage(t *testing.T) {
	for pkg, want := range map[string]bool{
		"github.com/chatbot/chatbot/client":     false,
		"github.com/chatbot/chatbot/webhook":    true,
		"github.com/chatbot/chatbot/store":      true,
		"github.com/chatbot/chatbot/apperr":     true,
		"go.etcd.io/bbolt":                      true,
		"github.com/ollama/ollama/api":          true,
		"net/http":                              false,
		"github.com/chatbot/chatbotx/somewhere": false,
	} {
		if got := serverPackage(pkg); got != want {
			t.Errorf("serverPackage(%q) = %v, want %v", pkg, got, want)
		}
	}
}
