package cmd

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/chatbot/chatbot/internal/server"
)

func newServeCommand(e env) *cobra.Command {
	var (
		cfg                    config
		cpuProfile, memProfile string
	)
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API, webhooks and admin panel",
		Long: `Run the service: the webhook API for support platforms, the management API
and the admin panel. It stops on SIGINT or SIGTERM after finishing in-flight work.

On first start without CHATBOT_ADMIN_TOKEN it generates an admin token and
prints it once. The ingest API reads files only below the --knowledge-root
folders (none by default: then only uploads), never the data directory.`,
		Example: `  chatbot serve
  chatbot serve --knowledge-root /srv/docs
  chatbot serve --addr :8080 --data-dir /var/lib/chatbot
  CHATBOT_ADMIN_TOKEN=$(cat token) chatbot serve --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := finish(&cfg, e); err != nil {
				return err
			}
			log := newLogger(cmd.ErrOrStderr(), cfg.LogLevel, cfg.LogFormat)
			stopProfiles, err := startProfiles(cpuProfile, memProfile)
			if err != nil {
				return err
			}
			cfg.Log, cfg.Out = log, cmd.OutOrStdout()
			a, err := server.New(cfg)
			if err != nil {
				stopProfiles()
				return err
			}
			err = a.Run(cmd.Context())
			if perr := stopProfiles(); perr != nil {
				log.Warn("writing profiles failed", "err", perr)
			}
			return err
		},
	}
	bindServe(c.Flags(), e, &cfg)
	c.Flags().StringVar(&cpuProfile, "cpuprofile", "", "debugging: write a CPU profile of the whole run to this file (go tool pprof)")
	c.Flags().StringVar(&memProfile, "memprofile", "", "debugging: write an allocation profile to this file at exit")
	return c
}

// startProfiles starts the CPU profile and returns the function that ends
// it and writes the allocation profile; both paths may be empty.
func startProfiles(cpuPath, memPath string) (stop func() error, err error) {
	var cpu *os.File
	if cpuPath != "" {
		if cpu, err = os.Create(cpuPath); err != nil {
			return nil, fmt.Errorf("create --cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, fmt.Errorf("start CPU profile: %w", err)
		}
	}
	return func() error {
		var errs []error
		if cpu != nil {
			pprof.StopCPUProfile()
			errs = append(errs, cpu.Close())
		}
		if memPath != "" {
			f, err := os.Create(memPath)
			if err != nil {
				return errors.Join(append(errs, fmt.Errorf("create --memprofile: %w", err))...)
			}
			errs = append(errs, pprof.Lookup("allocs").WriteTo(f, 0), f.Close())
		}
		return errors.Join(errs...)
	}, nil
}
