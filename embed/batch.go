package embed

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// dimension is the vector size a model embedder learns from its first
// answer and then holds every later answer to.
type dimension struct {
	mu sync.Mutex
	n  int
}

func (d *dimension) get() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// check records n on first use and refuses an empty vector or a size
// other than the one recorded; who names the model in the error.
func (d *dimension) check(who string, n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n == 0 {
		return fmt.Errorf("%s returned an empty vector", who)
	}
	if d.n == 0 {
		d.n = n
	}
	if n != d.n {
		return fmt.Errorf("%s returned vectors of dimension %d after %d", who, n, d.n)
	}
	return nil
}

// embedInBatches is the part of Embed every model backend shares: it
// refuses empty texts before any request, sends the texts batch at a time
// to call (which returns one vector per text, in order), checks the count
// and the dimension, and normalises each vector.
func embedInBatches(ctx context.Context, who string, dim *dimension, batch int, texts []string,
	call func(ctx context.Context, texts []string) ([][]float32, error)) ([][]float32, error) {
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("embed text %d: %w", i, ErrEmptyText)
		}
	}
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += batch {
		end := min(start+batch, len(texts))
		vs, err := call(ctx, texts[start:end])
		if err != nil {
			return nil, err
		}
		if len(vs) != end-start {
			return nil, fmt.Errorf("%s returned %d embeddings for %d texts", who, len(vs), end-start)
		}
		for i, v := range vs {
			if err := dim.check(who, len(v)); err != nil {
				return nil, err
			}
			n, ok := normalise(v)
			if !ok {
				return nil, fmt.Errorf("%s returned a zero or invalid vector for text %d", who, start+i)
			}
			out = append(out, n)
		}
	}
	return out, nil
}
