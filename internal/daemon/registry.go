package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/internal/botapi"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/state"
)

// ComponentFactory builds one kind of component for an org. The daemon
// asks every factory of its table about every org, in table order.
//
// Adding a pipeline means writing its Component, giving config.Org a
// section for it, and adding one factory to [Components] whose New reads
// that section (and returns nil when the org has none).
type ComponentFactory struct {
	// Name is the component's name in status, logs and metrics.
	Name string
	// New builds the component for org, or returns nil when the org's
	// configuration does not ask for it.
	New func(org *OrgEnv) (Component, error)
}

// Components is the daemon's table of component kinds: the session keeper,
// the doctor, one pipeline per configured section (eventlogs, cases,
// knowledge, employees), the journal's retention janitor, the handoff
// pump (messaging) and the webhook deliverer (webhooks). It returns a
// new slice on every call.
func Components() []ComponentFactory {
	return []ComponentFactory{
		{Name: "session", New: newSessionKeeper},
		{Name: "doctor", New: newDoctorComponent},
		{Name: "eventlogs", New: newEventLogsPipeline},
		{Name: "cases", New: newCasesPipeline},
		{Name: "knowledge", New: newKnowledgePipeline},
		{Name: "employees", New: newEmployeesPipeline},
		{Name: "journal", New: newJournalJanitor},
		{Name: "messaging", New: newMessagingPump},
		{Name: "webhooks", New: newWebhooks},
	}
}

// OrgEnv is what a component factory gets to build an org's component.
type OrgEnv struct {
	Alias string
	// Config is the org's configuration section (zero for an org given
	// only as an [OrgSpec]).
	Config config.Org
	// Session is the org's session; components call Token when they need
	// one and never log what it returns.
	Session auth.Source
	// Doctor runs the org's checks (nil: none).
	Doctor func(ctx context.Context) *doctor.Report
	// Live is the org's live health signal (nil: none); Probe is a cheap
	// call through the org's session that the session keeper makes when
	// the org has been quiet for ProbeInterval (nil: no probe).
	Live          *Live
	Probe         func(ctx context.Context) error
	ProbeInterval time.Duration
	// Budget caps the API calls the daemon's own checks spend (nil: no
	// cap).
	Budget *Budget
	// DoctorInterval and RetryInterval are the daemon's intervals.
	DoctorInterval, RetryInterval time.Duration
	Clock                         clock.Clock
	Logger                        *slog.Logger
	Metrics                       *Metrics

	// Store is the daemon's state store (nil: none; pipelines then refuse
	// to start). Owner names this process in the pipelines' leases, which
	// last LeaseTTL (0: DefaultLeaseTTL). JournalRetention is how long the
	// journal keeps a record (0: no janitor).
	Store            state.Store
	Owner            string
	LeaseTTL         time.Duration
	JournalRetention time.Duration
	// NewClient builds an API client through the org's session that
	// reserves each call in budget (nil: uncapped), calling wait when a
	// call has to wait for room; nil for an org set up by hand.
	NewClient func(budget *Budget, wait func(time.Duration)) (*rest.Client, error)

	// Bot is what the bot-facing API serves for the org (its Messenger is
	// nil without a messaging section); Notify wakes the org's event
	// streams after a journal commit; BotObserver feeds the SSE and
	// handoff gauges. Webhooks is the daemon's webhooks section (nil:
	// none).
	Bot         *botapi.Org
	Notify      func(org string)
	BotObserver botapi.Observer
	Webhooks    *WebhookSpec

	sessionReady chan struct{} // closed by the session keeper once it has a session
	onChange     func()
}

// Tracker returns a health tracker wired to the daemon, so that a change
// of the component's health updates the org's readiness at once.
func (e *OrgEnv) Tracker() *Tracker { return NewTracker(e.Clock, e.onChange) }

// SessionReady is closed once the org's session keeper has obtained a
// session; components that need one wait for it instead of each logging in.
func (e *OrgEnv) SessionReady() <-chan struct{} { return e.sessionReady }
