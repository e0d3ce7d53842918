package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// EmbedderChoice is what picks the knowledge base's embedder: the
// --embedder mode (auto, builtin, ollama, openai), the model, and the
// OpenAI-compatible servers (nil unless --llm openai).
type EmbedderChoice struct {
	Mode   string
	Model  string
	OpenAI *openaiServers
}

// openaiServers are OpenAI-compatible base URLs and the API key.
type openaiServers struct {
	urls      []*url.URL
	apiKey    string
	keySource string
}

// ollamaClient is the Ollama API client for host, an OLLAMA_HOST value
// read by chat.OllamaURL, the one reading every command shares: "myhost"
// is port 11434, 0.0.0.0 (a listen address) is reached on loopback.
func ollamaClient(host string, hc *http.Client) (*api.Client, error) {
	u, err := chat.OllamaURL(host)
	if err != nil {
		return nil, fmt.Errorf("OLLAMA_HOST: %w", err)
	}
	return api.NewClient(u, hc), nil
}

// ollamaEmbedder embeds with every Ollama server of hosts (OLLAMA_HOST
// values, comma-separated), spread by load.
func ollamaEmbedder(hosts, model string, hc *http.Client) (*embed.Ollama, error) {
	us, err := chat.OllamaURLs([]string{hosts})
	if err != nil {
		return nil, fmt.Errorf("OLLAMA_HOST: %w", err)
	}
	clients := make([]*api.Client, len(us))
	names := make([]string, len(us))
	for i, u := range us {
		if clients[i], err = ollamaClient(u.String(), hc); err != nil {
			return nil, err
		}
		names[i] = u.String()
	}
	return embed.NewOllamaHosts(clients, names, model, 0), nil
}

// chooseEmbedder picks the embedder: the one asked for, or with "auto" the
// one the index was built with, or for a new index the LLM servers' (the
// OpenAI-compatible ones with --llm openai, else Ollama) when they answer
// with the model, and the built-in one otherwise.
func chooseEmbedder(ctx context.Context, ollamaHost string, st *store.Store, k EmbedderChoice) (embed.Embedder, error) {
	mode := k.Mode
	model := k.Model
	if mode == "auto" || mode == "" {
		info, err := st.KnowledgeIndexInfo()
		switch {
		case err == nil:
			mode = info.Provider
			if info.Provider == "ollama" || info.Provider == "openai" {
				model = info.Model
			}
		case errors.Is(err, store.ErrNotFound):
			var o interface {
				embed.Embedder
				Probe(context.Context) (embed.Info, error)
			}
			if k.OpenAI != nil {
				oe, err := embed.NewOpenAI(k.OpenAI.urls, k.OpenAI.apiKey, k.OpenAI.keySource, model, 0, &http.Client{Timeout: 3 * time.Second})
				if err != nil {
					return nil, err
				}
				o = oe
			} else {
				oe, err := ollamaEmbedder(ollamaHost, model, &http.Client{Timeout: 3 * time.Second})
				if err != nil {
					return nil, err
				}
				o = oe
			}
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			if _, perr := o.Probe(pctx); perr == nil {
				return o, nil
			}
			return embed.NewBuiltin(), nil
		default:
			return nil, err
		}
	}
	switch mode {
	case "builtin":
		return embed.NewBuiltin(), nil
	case "ollama":
		return ollamaEmbedder(ollamaHost, model, &http.Client{Timeout: 5 * time.Minute})
	case "openai":
		if k.OpenAI == nil {
			return nil, fmt.Errorf("--embedder openai (or an index built with it) needs an OpenAI-compatible server: --llm openai with --llm-url (CHATBOT_LLM=openai, CHATBOT_LLM_URL)")
		}
		return embed.NewOpenAI(k.OpenAI.urls, k.OpenAI.apiKey, k.OpenAI.keySource, model, 0, &http.Client{Timeout: 5 * time.Minute})
	}
	return nil, fmt.Errorf("--embedder must be auto, builtin, ollama or openai, not %q", k.Mode)
}
