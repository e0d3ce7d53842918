package cmd

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/chatbot/chatbot/admin"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/internal/server"
	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// app is a server as the command's tests look at it: the server and its
// parts, named as they were when the wiring lived in this package.
type app struct {
	*server.Server
	cfg      config
	store    *store.Store
	index    *rag.Index
	answer   appAnswer
	admin    *admin.Handler
	worker   *webhook.Worker
	livechat *livechat.Manager
	server   *http.Server
}

type appAnswer struct {
	engine *chat.Engine
	llm    *chat.Client // nil with --llm none
}

// newApp builds the server as serve does (server.New).
func newApp(cfg config, log *slog.Logger, out io.Writer) (*app, error) {
	cfg.Log, cfg.Out = log, out
	s, err := server.New(cfg)
	if err != nil {
		return nil, err
	}
	ans := s.Answering()
	return &app{Server: s, cfg: s.Config(), store: s.Store(), index: s.Index(),
		answer: appAnswer{engine: ans.Engine(), llm: ans.LLM()}, admin: s.Admin(), worker: s.Worker(),
		livechat: s.LiveChat(), server: s.HTTPServer()}, nil
}
