// Package embed turns texts into vectors behind one interface, with two
// providers: Ollama (a real embedding model) and a built-in one that needs
// no model at all.
package embed

import (
	"context"
	"strconv"
)

// Info says which provider, model and dimension produce an embedder's
// vectors; an index built by one refuses vectors from another.
type Info struct {
	Provider  string `json:"provider"`  // "builtin" or "ollama"
	Model     string `json:"model"`     // e.g. "hash-v1", "nomic-embed-text"
	Dimension int    `json:"dimension"` // 0 while not yet known (Ollama before its first call)
}

// String is "provider/model (dim N)" for messages.
func (i Info) String() string {
	return i.Provider + "/" + i.Model + " (dim " + strconv.Itoa(i.Dimension) + ")"
}

// Embedder turns texts into vectors of one fixed dimension, one per text,
// in order. Vectors are L2-normalised.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Info() Info
}
