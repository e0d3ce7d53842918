package cmd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/spf13/pflag"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
)

// knowledgeFlags are the flags of the commands that use the knowledge base.
type knowledgeFlags struct {
	dataDir    string
	embedder   string // auto, builtin or ollama
	embedModel string
	minScore   float64
	// openai are the OpenAI-compatible servers for --embedder openai
	// (and auto with --llm openai); nil otherwise.
	openai *openaiServers
}

// openaiServers are OpenAI-compatible base URLs and the API key.
type openaiServers struct {
	urls      []*url.URL
	apiKey    string
	keySource string
}

// openaiFromEnv reads the OpenAI-compatible servers the way serve does,
// from CHATBOT_LLM=openai, CHATBOT_LLM_URL and CHATBOT_LLM_API_KEY(_FILE),
// for the commands that embed without serve's flags (ingest, eval).
func openaiFromEnv(e env) (*openaiServers, error) {
	if e("CHATBOT_LLM") != llmOpenAI {
		return nil, nil
	}
	ac := answerConfig{LLM: llmOpenAI, LLMURL: e("CHATBOT_LLM_URL")}
	if err := ac.finish(); err != nil {
		return nil, err
	}
	if err := ac.finishKey(e); err != nil {
		return nil, err
	}
	return ac.openaiServers(), nil
}

func bindKnowledge(fs *pflag.FlagSet, e env, k *knowledgeFlags) {
	bindDataDir(fs, e, &k.dataDir)
	fs.StringVar(&k.embedder, "embedder", e.or("CHATBOT_EMBEDDER", "auto"),
		"embeddings: builtin (no model), ollama, openai (CHATBOT_LLM_URL), or auto (the index's own; for a new index the LLM servers' when they embed, else builtin) (env CHATBOT_EMBEDDER)")
	fs.StringVar(&k.embedModel, "embed-model", e.or("CHATBOT_EMBED_MODEL", embed.DefaultOllamaModel), "embedding model (env CHATBOT_EMBED_MODEL)")
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
func chooseEmbedder(ctx context.Context, ollamaHost string, st *store.Store, k knowledgeFlags) (embed.Embedder, error) {
	mode := k.embedder
	model := k.embedModel
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
			if k.openai != nil {
				oe, err := embed.NewOpenAI(k.openai.urls, k.openai.apiKey, k.openai.keySource, model, 0, &http.Client{Timeout: 3 * time.Second})
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
		if k.openai == nil {
			return nil, fmt.Errorf("--embedder openai (or an index built with it) needs an OpenAI-compatible server: --llm openai with --llm-url (CHATBOT_LLM=openai, CHATBOT_LLM_URL)")
		}
		return embed.NewOpenAI(k.openai.urls, k.openai.apiKey, k.openai.keySource, model, 0, &http.Client{Timeout: 5 * time.Minute})
	}
	return nil, fmt.Errorf("--embedder must be auto, builtin, ollama or openai, not %q", k.embedder)
}

// openKnowledge opens the store of the data directory and the index in it.
// A store held by a running server is reported with what to do instead.
func openKnowledge(ctx context.Context, e env, k knowledgeFlags, opts rag.Options) (*store.Store, *rag.Index, error) {
	st, err := store.Open(k.dataDir, store.Options{LockTimeout: 300 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return nil, nil, fmt.Errorf("%w\nA running `chatbot serve` holds %s: use its API (/api/knowledge/...), or stop it first", err, k.dataDir)
	}
	if err != nil {
		return nil, nil, err
	}
	if k.openai == nil {
		if k.openai, err = openaiFromEnv(e); err != nil {
			st.Close()
			return nil, nil, err
		}
	}
	emb, err := chooseEmbedder(ctx, e("OLLAMA_HOST"), st, k)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	opts.MinScore = k.minScore
	ix, err := rag.Open(ctx, st, emb, opts)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, ix, nil
}

// rootsValue is the repeatable --knowledge-root flag. Each value may also
// list several folders separated as in PATH (':' on Unix), as
// CHATBOT_KNOWLEDGE_ROOTS does; the first value given replaces the
// environment's, so flags win over the environment.
type rootsValue struct {
	dst *[]string
	set bool
}

func (v *rootsValue) String() string {
	if v.dst == nil {
		return ""
	}
	return strings.Join(*v.dst, string(os.PathListSeparator))
}

func (v *rootsValue) Set(s string) error {
	dirs := splitRoots(s)
	if len(dirs) == 0 {
		return fmt.Errorf("name a folder")
	}
	if !v.set {
		*v.dst, v.set = nil, true
	}
	*v.dst = append(*v.dst, dirs...)
	return nil
}

// splitRoots splits a PATH-like list of folders, dropping empty entries (an
// empty one would otherwise mean the working directory).
func splitRoots(s string) []string {
	var dirs []string
	for _, d := range filepath.SplitList(s) {
		if d = strings.TrimSpace(d); d != "" {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

func (*rootsValue) Type() string { return "dir" }

// bindKnowledgeRoots registers --knowledge-root, the folders the server's
// ingest API may read.
func bindKnowledgeRoots(fs *pflag.FlagSet, e env, dst *[]string) {
	*dst = splitRoots(e("CHATBOT_KNOWLEDGE_ROOTS"))
	fs.Var(&rootsValue{dst: dst}, "knowledge-root",
		"folder the ingest API may read below (repeatable; default none: the API then takes only uploads; never the data directory) (env CHATBOT_KNOWLEDGE_ROOTS, ':'-separated)")
}
