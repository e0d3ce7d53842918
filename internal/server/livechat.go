package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/chatbot/chatbot/livechat"
)

// newLiveChat builds the live-chat manager from the config, over the store
// (its sessions, the outgoing queue and the transcripts).
func newLiveChat(cfg Config, st livechat.Store, log *slog.Logger) (*livechat.Manager, error) {
	return livechat.NewManager(st, livechat.Config{
		Phrases:              splitList(cfg.LiveChatPhrases),
		NoAgentTimeout:       cfg.LiveChatTimeout,
		NoAgentAction:        cfg.LiveChatNoAgent,
		TransferAnswer:       cfg.LiveChatTransferMessage,
		NoAgentMessage:       cfg.LiveChatNoAgentMessage,
		NoAgentClosedMessage: cfg.LiveChatNoAgentClosedMessage,
	}, log.With("component", "livechat"))
}

// startLiveChat runs the no-agent timeout loop and ends the agents' event
// streams when the server shuts down (Shutdown does not cancel the
// contexts of long-lived requests, so it would otherwise wait for them).
// It returns the stop to run after HTTP has drained.
func startLiveChat(srv *http.Server, lc *livechat.Manager, log *slog.Logger) func(context.Context) error {
	srv.RegisterOnShutdown(lc.Hub().Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				log.Error("live chat timeout loop panicked", "panic", p)
			}
		}()
		_ = lc.Run(ctx) // returns nil when ctx ends
	}()
	return func(stopCtx context.Context) error {
		cancel()
		lc.Hub().Close()
		select {
		case <-done:
			return nil
		case <-stopCtx.Done():
			return stopCtx.Err()
		}
	}
}
