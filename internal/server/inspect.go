package server

import (
	"net/http"

	"github.com/chatbot/chatbot/admin"
	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// The accessors below let the command line's tests and tools look at the
// parts of a running server; the server itself never needs them.

// Config is the validated configuration the server runs with.
func (a *Server) Config() Config { return a.cfg }

// Store is the server's store; it is closed when Run returns.
func (a *Server) Store() *store.Store { return a.store }

// Index is the knowledge base.
func (a *Server) Index() *rag.Index { return a.index }

// Answering is the conversation engine and its LLM client.
func (a *Server) Answering() *Answering { return a.answer }

// Admin is the admin panel's handler.
func (a *Server) Admin() *admin.Handler { return a.admin }

// Worker is the outgoing delivery worker.
func (a *Server) Worker() *webhook.Worker { return a.worker }

// LiveChat is the live-chat manager.
func (a *Server) LiveChat() *livechat.Manager { return a.livechat }

// HTTPServer is the HTTP server (its handler and timeouts).
func (a *Server) HTTPServer() *http.Server { return a.server }
