// Package server is the wiring of the service: New builds it from a
// Config (the store, the knowledge index, the engine, the conversation
// turn, live chat, deliveries, backups, the admin panel and the route
// table in app.go) and listens; Run starts the background work, serves,
// and shuts down in the order written in run.go. The command line (cmd/)
// fills the Config from flags and environment and prints; nothing here
// imports it.
package server
