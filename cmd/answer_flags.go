package cmd

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/internal/server"
)

// answerConfig configures the conversation engine (internal/server); the
// flags below fill it, serve and ask alike.
type answerConfig = server.AnswerConfig

// LLM modes of --llm.
const (
	llmAuto   = server.LLMAuto
	llmOllama = server.LLMOllama
	llmOpenAI = server.LLMOpenAI
	llmNone   = server.LLMNone
)

// bindAnswer registers the answering flags (serve and ask share them).
func bindAnswer(fs *pflag.FlagSet, e env, c *answerConfig) {
	fs.StringVar(&c.LLM, "llm", e.or("CHATBOT_LLM", llmAuto), "answer generator: auto (Ollama when reachable, else built-in), ollama (required), openai (an OpenAI-compatible server at --llm-url, required) or none (built-in extractive answers) (env CHATBOT_LLM)")
	c.OllamaHost = e.or("OLLAMA_HOST", "")
	fs.Var(&listValue{dst: &c.OllamaHost, check: checkOllamaHosts}, "ollama-host", "Ollama address, as OLLAMA_HOST: host[:port] or http(s)://host:port (default 127.0.0.1:11434); repeat the flag, or separate with commas, for several servers (env OLLAMA_HOST)")
	c.LLMURL = e.or("CHATBOT_LLM_URL", "")
	fs.Var(&listValue{dst: &c.LLMURL, check: checkLLMURLs}, "llm-url", "with --llm openai: the server's base URL, e.g. http://127.0.0.1:8000/v1 (/v1 is added to a URL without a path); repeat, or separate with commas, for several (env CHATBOT_LLM_URL)")
	fs.StringVar(&c.APIKeyFile, "llm-api-key-file", "", "with --llm openai: a file holding the API key (or set CHATBOT_LLM_API_KEY or CHATBOT_LLM_API_KEY_FILE; never a flag, which other users can see in ps)")
	fs.StringVar(&c.ChatModel, "chat-model", e.or("CHATBOT_CHAT_MODEL", "llama3.2"), "chat model (env CHATBOT_CHAT_MODEL)")
	fs.DurationVar(&c.AnswerTimeout, "answer-timeout", e.durationOr("CHATBOT_ANSWER_TIMEOUT", 30*time.Second), "deadline of every answer; past it the user gets the extractive answer (env CHATBOT_ANSWER_TIMEOUT)")
	fs.IntVar(&c.MaxGenerations, "max-generations", defaultGenerations(e), "concurrent LLM generations per server; more wait in a queue of 8 per slot, past it callers get the extractive answer at once (env CHATBOT_MAX_GENERATIONS; default OLLAMA_NUM_PARALLEL or 1)")
	fs.IntVar(&c.MaxTokens, "max-answer-tokens", 512, "most tokens an LLM answer may have")
	fs.StringVar(&c.BotName, "bot-name", e.or("CHATBOT_BOT_NAME", "Assistant"), "the name the bot gives itself (env CHATBOT_BOT_NAME)")
	fs.StringVar(&c.BotTone, "bot-tone", e.or("CHATBOT_BOT_TONE", "friendly, clear and concise"), "the tone of its answers (env CHATBOT_BOT_TONE)")
	fs.StringVar(&c.Instructions, "bot-instructions", e.or("CHATBOT_BOT_INSTRUCTIONS", ""), "extra instructions appended to the system prompt (env CHATBOT_BOT_INSTRUCTIONS)")
}

// defaultGenerations matches Ollama's own parallelism when it is set here.
func defaultGenerations(e env) int {
	for _, key := range []string{"CHATBOT_MAX_GENERATIONS", "OLLAMA_NUM_PARALLEL"} {
		if n, err := strconv.Atoi(e(key)); err == nil && n > 0 {
			return n
		}
	}
	return 1
}

// finishKey reads the API key: --llm-api-key-file, else
// CHATBOT_LLM_API_KEY, else CHATBOT_LLM_API_KEY_FILE; it remembers which,
// so that a refused key is reported by its source.
func finishKey(c *answerConfig, e env) error {
	if c.APIKeyFile != "" {
		b, err := os.ReadFile(c.APIKeyFile)
		if err != nil {
			return fmt.Errorf("--llm-api-key-file: %w", err)
		}
		c.APIKey, c.KeySource = strings.TrimSpace(string(b)), "--llm-api-key-file ("+c.APIKeyFile+")"
		return nil
	}
	key, err := e.lookup("CHATBOT_LLM_API_KEY")
	if err != nil {
		return err
	}
	c.APIKey = key
	switch {
	case e("CHATBOT_LLM_API_KEY") != "":
		c.KeySource = "CHATBOT_LLM_API_KEY"
	case key != "":
		c.KeySource = "CHATBOT_LLM_API_KEY_FILE (" + e("CHATBOT_LLM_API_KEY_FILE") + ")"
	}
	return nil
}

// listValue is a flag that may be repeated or hold a comma-separated list
// (its env default likewise): the first use replaces the default, later
// ones add to it. check validates each value as it is parsed.
type listValue struct {
	dst   *string
	set   bool
	check func(string) error
}

func (v *listValue) String() string {
	if v.dst == nil {
		return ""
	}
	return *v.dst
}

func (v *listValue) Set(s string) error {
	if err := v.check(s); err != nil {
		return err
	}
	if !v.set || *v.dst == "" {
		*v.dst, v.set = s, true
		return nil
	}
	*v.dst += "," + s
	return nil
}

func (*listValue) Type() string { return "list" }

func checkOllamaHosts(s string) error {
	_, err := chat.OllamaURLs([]string{s})
	return err
}

func checkLLMURLs(s string) error {
	_, err := server.ParseLLMURLs(s)
	return err
}
