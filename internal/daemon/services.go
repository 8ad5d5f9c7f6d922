package daemon

import (
	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/state"
)

// OrgServices are what request handlers for one org (the bot-facing API)
// share with its pipelines.
type OrgServices struct {
	Alias string
	// Store is the daemon's state store: the journal (topics cases.events,
	// knowledge.events, handoff.*), the synced knowledge and directory.
	Store state.Store
	// Client calls the org's API through its session; its calls count in
	// the org's metrics and live health, against no pipeline's budget.
	Client *rest.Client
	// Session is the org's session.
	Session auth.Source
	// Owner names this process in leases.
	Owner string
}

// OrgServices returns the services of the org with alias; ok is false for
// an unknown alias. Client is nil for an org set up without its
// configuration.
func (d *Daemon) OrgServices(alias string) (s OrgServices, ok bool) {
	for _, o := range d.orgs {
		if o.Alias == alias {
			return OrgServices{Alias: alias, Store: d.opts.Store, Client: d.clients[alias], Session: o.Session, Owner: d.opts.Owner}, true
		}
	}
	return OrgServices{}, false
}
