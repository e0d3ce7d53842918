package server

import (
	"log/slog"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/internal/netguard"
	"github.com/chatbot/chatbot/metrics"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/tools"
)

// toolSet is the server's API tools: the engine's step, the caller whose
// counts go to /metrics, and the management the API serves.
type toolSet struct {
	step    *tools.Step
	caller  *tools.Caller
	manager *tools.Manager
}

func newToolSet(st *store.Store, policy *netguard.AddrPolicy, log *slog.Logger) (*toolSet, error) {
	caller, err := tools.NewCaller(tools.Options{Policy: policy, Recorder: st, Log: log})
	if err != nil {
		return nil, err
	}
	// Examples fire a tool through the built-in embedder: no model needed.
	step := tools.NewStep(st, caller, tools.StepOptions{Log: log, Embedder: embed.NewBuiltin()})
	return &toolSet{step: step, caller: caller, manager: tools.NewManager(st, step)}, nil
}

// collect adds the tool calls to /metrics.
func (s *toolSet) collect(w *metrics.PromWriter) { s.caller.Collect(w) }
