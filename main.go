// Command chatbot is a self-hosted customer-support bot: it answers messages
// from support platforms out of the operator's own documents.
package main

import (
	"os"

	"github.com/chatbot/chatbot/cmd"
)

func main() {
	os.Exit(cmd.Execute())
}
