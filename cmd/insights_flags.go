package cmd

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/chatbot/chatbot/store"
)

// insightsFlags tune the conversation outcomes of the Insights section.
type insightsFlags struct {
	// Quiet is how long a conversation stays quiet after an answer (no
	// hand-off, no negative rating) before it counts as resolved by the bot.
	Quiet time.Duration
}

func bindInsights(fs *pflag.FlagSet, e env, f *insightsFlags) {
	fs.DurationVar(&f.Quiet, "resolution-quiet-period", e.durationOr("CHATBOT_RESOLUTION_QUIET_PERIOD", store.DefaultQuietPeriod),
		"how long a conversation must stay quiet after an answer to count as resolved by the bot (env CHATBOT_RESOLUTION_QUIET_PERIOD)")
}

// validate refuses a period too short to mean anything; zero is the default.
func (f insightsFlags) validate() error {
	if f.Quiet != 0 && f.Quiet < time.Minute {
		return fmt.Errorf("--resolution-quiet-period must be at least 1m (e.g. 24h), not %s", f.Quiet)
	}
	return nil
}
