package cmd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/internal/server"
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
	openai *server.OpenAIServers
}

// choice is what picks the embedder, from these flags.
func (k knowledgeFlags) choice() server.EmbedderChoice {
	return server.EmbedderChoice{Mode: k.embedder, Model: k.embedModel, OpenAI: k.openai}
}

// openaiFromEnv reads the OpenAI-compatible servers the way serve does,
// from CHATBOT_LLM=openai, CHATBOT_LLM_URL and CHATBOT_LLM_API_KEY(_FILE),
// for the commands that embed without serve's flags (ingest, eval).
func openaiFromEnv(e env) (*server.OpenAIServers, error) {
	if e("CHATBOT_LLM") != llmOpenAI {
		return nil, nil
	}
	ac := answerConfig{LLM: llmOpenAI, LLMURL: e("CHATBOT_LLM_URL")}
	if err := ac.Finish(); err != nil {
		return nil, err
	}
	if err := finishKey(&ac, e); err != nil {
		return nil, err
	}
	return ac.OpenAI(), nil
}

func bindKnowledge(fs *pflag.FlagSet, e env, k *knowledgeFlags) {
	bindDataDir(fs, e, &k.dataDir)
	fs.StringVar(&k.embedder, "embedder", e.or("CHATBOT_EMBEDDER", "auto"),
		"embeddings: builtin (no model), ollama, openai (CHATBOT_LLM_URL), or auto (the index's own; for a new index the LLM servers' when they embed, else builtin) (env CHATBOT_EMBEDDER)")
	fs.StringVar(&k.embedModel, "embed-model", e.or("CHATBOT_EMBED_MODEL", embed.DefaultOllamaModel), "embedding model (env CHATBOT_EMBED_MODEL)")
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
	emb, err := server.ChooseEmbedder(ctx, e("OLLAMA_HOST"), st, k.choice())
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

// minScoreValue is --min-score: "auto" (or 0) for the threshold the index
// calibrates from its own scores, or a fixed relevance between 0 and 1.
type minScoreValue struct{ dst *float64 }

func (v minScoreValue) String() string {
	if v.dst == nil || *v.dst == 0 {
		return "auto"
	}
	return strconv.FormatFloat(*v.dst, 'g', -1, 64)
}

func (v minScoreValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "auto") {
		*v.dst = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1 || math.IsNaN(f) {
		return fmt.Errorf("want auto or a relevance between 0 and 1 (0 also means auto), not %q", s)
	}
	*v.dst = f
	return nil
}

func (minScoreValue) Type() string { return "auto|0..1" }

// bindMinScore registers --min-score, the relevance threshold below which
// nothing is answered.
func bindMinScore(fs *pflag.FlagSet, e env, dst *float64) {
	*dst = 0
	_ = minScoreValue{dst}.Set(e.or("CHATBOT_MIN_SCORE", "auto")) // a bad value is reported by checkEnv
	fs.Var(minScoreValue{dst}, "min-score",
		"relevance (0..1) below which nothing is answered; auto: calibrated per index from its own scores (tune with `chatbot eval --suggest-threshold`) (env CHATBOT_MIN_SCORE)")
}
