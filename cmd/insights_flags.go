package cmd

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/chatbot/chatbot/internal/server"
	"github.com/chatbot/chatbot/store"
)

// insightsFlags tune the conversation outcomes of the Insights section.
type insightsFlags = server.InsightsConfig

func bindInsights(fs *pflag.FlagSet, e env, f *insightsFlags) {
	fs.DurationVar(&f.Quiet, "resolution-quiet-period", e.durationOr("CHATBOT_RESOLUTION_QUIET_PERIOD", store.DefaultQuietPeriod),
		"how long a conversation must stay quiet after an answer to count as resolved by the bot (env CHATBOT_RESOLUTION_QUIET_PERIOD)")
	r := retentionValue{&f.Retention}
	_ = r.Set(e("CHATBOT_RETENTION")) // a malformed value is reported by checkEnv
	fs.Var(r, "retention", "delete message texts older than this, e.g. 90d, keeping the records and counts; 0 keeps them (env CHATBOT_RETENTION)")
}

// retentionValue is a --retention: days ("90d"), a Go duration ("2160h"),
// or 0 for keeping texts forever.
type retentionValue struct{ d *time.Duration }

func (v retentionValue) String() string {
	if v.d == nil || *v.d == 0 {
		return "0"
	}
	if *v.d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(*v.d/(24*time.Hour)), 10) + "d"
	}
	return v.d.String()
}

func (v retentionValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s == "0" || s == "" {
		*v.d = 0
		return nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a number of days such as 90d", s)
		}
		*v.d = time.Duration(n) * 24 * time.Hour
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is neither days (90d) nor a duration (2160h)", s)
	}
	*v.d = d
	return nil
}

func (retentionValue) Type() string { return "days" }
