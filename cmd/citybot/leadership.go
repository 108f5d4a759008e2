package main

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"citybot/cluster"
	"citybot/store"
)

var _ cluster.Leases = (*store.DB)(nil)

// The leases of serve's parts that run on one instance at a time when
// several share one PostgreSQL database (see cluster). Everything else
// (the console, the webhook intake, the outbox's sending, Open311) runs
// on every instance; the [schedule] jobs have a lease each (scheduler).
const (
	leaseTelegramPoll   = "telegram.poll"   // polling mode only: a webhook is served by every instance
	leaseDiscordGateway = "discord.gateway" // sending goes through REST on every instance
	leaseAlerts         = "alerts"
	leaseSurge          = "surge"
	leaseMedia          = "media" // fetching the citizens' photos and voice notes
)

// leadership is the Leader of each of serve's one-at-a-time parts, by
// lease name, for /healthz and /metrics.
type leadership struct {
	app     *App
	leaders map[string]*cluster.Leader
}

func newLeadership(a *App) *leadership {
	return &leadership{app: a, leaders: map[string]*cluster.Leader{}}
}

// lead returns run wrapped so that it runs only while this instance
// holds the lease name; "" returns run as is (a part every instance
// runs). On SQLite there is one process: the part always leads, and the
// database holds no lease (a restart after a crash would otherwise wait
// for the dead process's lease to end).
func (l *leadership) lead(name string, run func(ctx context.Context) error) (func(ctx context.Context) error, error) {
	if name == "" {
		return run, nil
	}
	var leases cluster.Leases
	if l.app.cfg.Store.Driver == driverPostgres {
		leases = l.app.db
	}
	ld, err := cluster.New(cluster.Options{Name: name, Holder: l.app.instance, Leases: leases, Logger: l.app.logger})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	l.leaders[name] = ld
	return func(ctx context.Context) error { return ld.Run(ctx, run) }, nil
}

// statuses returns each part's role here and its leader, for /healthz.
func (l *leadership) statuses() map[string]cluster.Status {
	out := make(map[string]cluster.Status, len(l.leaders))
	for name, ld := range l.leaders {
		out[name] = ld.Status()
	}
	return out
}

// register adds citybot_leading{part}: 1 while this instance runs the
// part, 0 while it stands by.
func (l *leadership) register(reg prometheus.Registerer) error {
	for name, ld := range l.leaders {
		g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "citybot_leading",
			Help:        "1 while this instance runs the part (it holds the part's lease), 0 while another does or it stands by.",
			ConstLabels: prometheus.Labels{"part": name},
		}, func() float64 {
			if ld.Status().Role == cluster.Leading {
				return 1
			}
			return 0
		})
		if err := reg.Register(g); err != nil {
			return fmt.Errorf("serve: metrics: %w", err)
		}
	}
	return nil
}
