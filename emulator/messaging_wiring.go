package emulator

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/sfbridge/sfbridge/emulator/data"
	"github.com/sfbridge/sfbridge/emulator/messaging"
	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// ConsolePath is the agent console page (see docs/emulator.md).
const ConsolePath = "/_emulator/console"

// initMessaging builds the Messaging side from the fixture's messaging
// section; its records go to the data store.
func (o *Org) initMessaging(cfg Config) error {
	setup := messaging.Setup{}
	if cfg.Fixture.Messaging != nil {
		setup = *cfg.Fixture.Messaging
	}
	srv, err := messaging.New(messaging.Config{OrgID: string(o.OrgID()), Setup: setup, Clock: o.clk, Now: o.Now,
		Records: messagingRecords{o.data.store}, Logger: o.log})
	if err != nil {
		return fmt.Errorf("emulator: fixture: messaging: %w", err)
	}
	o.msg = srv
	return nil
}

// messagingRecords writes the Omni-Channel simulation's records with the
// org's system privileges.
type messagingRecords struct{ store *data.Store }

func (m messagingRecords) Insert(object string, fields map[string]any) (string, error) {
	id, err := m.store.Insert(object, "", fields)
	return string(id), err
}

func (m messagingRecords) Update(object, id string, fields map[string]any) error {
	return m.store.Upsert(object, sfid.ID(id), fields)
}

// Messaging returns the org's Messaging for In-App and Web side: serve its
// Handler on the SCRT URL.
func (o *Org) Messaging() *messaging.Server { return o.msg }

// Close stops the Messaging side's timers and ends its event streams.
func (o *Org) Close() { o.msg.Close() }

// SCRTURL is the configured Messaging host URL (empty when not served).
func (o *Org) SCRTURL() string { return o.cfg.SCRTURL }

// serveConsole serves the agent console to a caller with the admin token
// (header, or ?token= for a browser) or from a loopback address.
func (o *Org) serveConsole(w http.ResponseWriter, r *http.Request) {
	tok := r.Header.Get(AdminTokenHeader)
	if tok == "" {
		tok = bearerToken(r)
	}
	if tok == "" {
		tok = r.URL.Query().Get("token")
	}
	allowed := tok != "" && constantTimeEqual(tok, o.adminToken)
	if !allowed {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		allowed = err == nil && ip != nil && ip.IsLoopback() && !forwarded(r)
	}
	if !allowed {
		writeAdminError(w, http.StatusUnauthorized, "the agent console needs the admin token (?token=) or a loopback client")
		return
	}
	messaging.ServeConsole(w, o.adminToken)
}

// forwarded reports whether a proxy relayed the request, in which case a
// loopback peer says nothing about the browser.
func forwarded(r *http.Request) bool {
	return r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || strings.Contains(r.Header.Get("Via"), " ")
}
