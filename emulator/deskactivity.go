package emulator

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/emulator/data"
	"github.com/sfbridge/sfbridge/emulator/internal/httpjson"
	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// DeskActivitySpec starts simulated service-desk agents: at RatePerMinute
// on the org's clock they update, comment on, close, reopen, delete and
// undelete Cases, open new ones, and publish new versions of Knowledge
// articles (archiving the version they replace). The work is done lazily
// when the data API is next called, at that moment's time, so a stopped
// clock means no activity and tests stay deterministic.
type DeskActivitySpec struct {
	RatePerMinute float64 `json:"rate_per_minute"`
	// Seed makes the sequence of actions repeatable (default 1).
	Seed uint64 `json:"seed,omitempty"`
	// Agent is the username the agents act as (default
	// no-eventlogs@sfbridge.test, so their writes are not the integration
	// user's).
	Agent string `json:"agent,omitempty"`
	// Reassign makes a third of the case updates also give the Case to
	// another active user (an OwnerId change).
	Reassign bool `json:"reassign,omitempty"`
	// NoArticles leaves Knowledge alone: the share of actions that would
	// publish a new article version updates a Case instead (the activity of
	// Org.StartActivity changes articles at its own rate).
	NoArticles bool `json:"no_articles,omitempty"`
}

// DeskActivityState is the activity as the admin API shows it.
type DeskActivityState struct {
	DeskActivitySpec
	Running bool `json:"running"`
	// Actions counts what was done by kind ("failed": actions the store
	// refused; LastError says why the last one was).
	Actions   map[string]int `json:"actions"`
	LastError string         `json:"last_error,omitempty"`
}

type deskActivity struct {
	mu      sync.Mutex
	spec    DeskActivitySpec
	agent   sfid.ID
	rng     *rand.Rand
	last    time.Time
	owed    float64
	actions map[string]int
	lastErr string
}

// SetDeskActivity starts (or, with a zero rate, stops) the simulated agents.
func (o *Org) SetDeskActivity(s DeskActivitySpec) error {
	if s.RatePerMinute < 0 || s.RatePerMinute > 100000 {
		return fmt.Errorf("rate_per_minute %v is outside 0–100000", s.RatePerMinute)
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	if s.Agent == "" {
		s.Agent = UserNoEventLogs
	}
	var agent sfid.ID
	if s.RatePerMinute > 0 {
		id, ok := o.UserID(s.Agent)
		if !ok {
			return fmt.Errorf("agent %q is not a user of the org", s.Agent)
		}
		agent = id
	}
	a := &o.desk
	a.mu.Lock()
	defer a.mu.Unlock()
	a.spec, a.agent, a.last, a.owed = s, agent, o.Now(), 0
	a.rng = rand.New(rand.NewPCG(s.Seed, 0x5e7de5c))
	if a.actions == nil {
		a.actions = map[string]int{}
	}
	return nil
}

// DeskActivity returns the activity's settings and what it has done.
func (o *Org) DeskActivity() DeskActivityState {
	a := &o.desk
	a.mu.Lock()
	defer a.mu.Unlock()
	st := DeskActivityState{DeskActivitySpec: a.spec, Running: a.spec.RatePerMinute > 0, Actions: map[string]int{}, LastError: a.lastErr}
	for k, v := range a.actions {
		st.Actions[k] = v
	}
	return st
}

// deskTick performs the actions due since the last call.
func (o *Org) deskTick(ctx context.Context) {
	a := &o.desk
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.spec.RatePerMinute <= 0 {
		return
	}
	now := o.Now()
	if now.Before(a.last) {
		a.last = now
		return
	}
	a.owed += now.Sub(a.last).Minutes() * a.spec.RatePerMinute
	a.last = now
	n := int(a.owed)
	a.owed -= float64(n)
	n = min(n, 10000) // a clock jumped far ahead does not stall a request
	st := o.Store()
	actx := data.WithPrincipal(ctx, &data.Principal{UserID: a.agent, OrgID: o.OrgID(), Object: func(string) data.ObjectAccess {
		return data.ObjectAccess{Read: true, Create: true, Edit: true, Delete: true}
	}})
	for range n {
		name, err := o.deskAction(actx, st, a.rng)
		if err != nil {
			a.actions["failed"]++
			a.lastErr = name + ": " + err.Error()
			continue
		}
		a.actions[name]++
	}
}

func (o *Org) deskAction(ctx context.Context, st *data.Store, rng *rand.Rand) (string, error) {
	var live, closed, deleted []string
	st.Scan("Case", func(id string, get func(string) any) {
		switch {
		case get("IsDeleted") == true:
			deleted = append(deleted, id)
		case get("IsClosed") == true:
			closed = append(closed, id)
			live = append(live, id)
		default:
			live = append(live, id)
		}
	})
	pick := func(ids []string) string { return ids[rng.IntN(len(ids))] }
	roll := rng.IntN(100)
	switch {
	case roll < 10 || len(live) == 0:
		_, err := st.Create(ctx, "Case", map[string]any{"Subject": fmt.Sprintf("Simulated request %d", rng.IntN(100000)),
			"Origin": []string{"Web", "Email", "Phone"}[rng.IntN(3)], "Priority": []string{"High", "Medium", "Low"}[rng.IntN(3)]})
		return done("case.create", err)
	case roll < 40:
		return o.deskUpdate(ctx, st, rng, pick(live))
	case roll < 65:
		_, err := st.Create(ctx, "CaseComment", map[string]any{"ParentId": pick(live), "IsPublished": rng.IntN(2) == 0,
			"CommentBody": fmt.Sprintf("Agent note %d", rng.IntN(100000))})
		return done("comment.create", err)
	case roll < 77:
		return done("case.close", st.Update(ctx, "Case", pick(live), map[string]any{"Status": "Closed"}))
	case roll < 85 && len(closed) > 0:
		return done("case.reopen", st.Update(ctx, "Case", pick(closed), map[string]any{"Status": "Working"}))
	case roll < 90:
		return done("case.delete", st.Delete(ctx, "Case", pick(live)))
	case roll < 95 && len(deleted) > 0:
		return done("case.undelete", st.Undelete(ctx, "Case", pick(deleted)))
	case o.desk.spec.NoArticles:
		return o.deskUpdate(ctx, st, rng, pick(live))
	default:
		return done("article.publish", o.publishNewVersion(st, rng))
	}
}

// deskUpdate changes a Case's priority and status and, with Reassign, now
// and then its owner.
func (o *Org) deskUpdate(ctx context.Context, st *data.Store, rng *rand.Rand, id string) (string, error) {
	f := map[string]any{"Priority": []string{"High", "Medium", "Low"}[rng.IntN(3)], "Status": []string{"Working", "Escalated"}[rng.IntN(2)]}
	if o.desk.spec.Reassign && rng.IntN(3) == 0 {
		if users := o.elfUsers(); len(users) > 0 {
			f["OwnerId"] = users[rng.IntN(len(users))].ID
			err := st.Update(ctx, "Case", id, f)
			return done("case.assign", err)
		}
	}
	return done("case.update", st.Update(ctx, "Case", id, f))
}

func done(name string, err error) (string, error) { return name, err }

// publishNewVersion publishes version n+1 of a random online article and
// archives version n, as publishing does in Lightning Knowledge.
func (o *Org) publishNewVersion(st *data.Store, rng *rand.Rand) error {
	type art struct {
		id     string
		fields map[string]any
	}
	var online []art
	st.Scan("Knowledge__kav", func(id string, get func(string) any) {
		if get("PublishStatus") != "Online" || get("IsDeleted") == true {
			return
		}
		f := map[string]any{}
		for _, k := range []string{"KnowledgeArticleId", "ArticleNumber", "Title", "UrlName", "Summary", "Answer__c", "Language", "VersionNumber", "IsMasterLanguage", "FirstPublishedDate"} {
			f[k] = get(k)
		}
		online = append(online, art{id, f})
	})
	if len(online) == 0 {
		return fmt.Errorf("no online article")
	}
	a := online[rng.IntN(len(online))]
	now := o.Now().UTC()
	if err := st.Upsert("Knowledge__kav", sfid.ID(a.id), map[string]any{"PublishStatus": "Archived", "IsLatestVersion": false, "ArchivedDate": now}); err != nil {
		return err
	}
	f := a.fields
	v, _ := f["VersionNumber"].(float64)
	f["VersionNumber"] = v + 1
	f["PublishStatus"] = "Online"
	f["IsLatestVersion"] = true
	f["LastPublishedDate"] = now
	if s, ok := f["Summary"].(string); ok {
		f["Summary"] = s + fmt.Sprintf(" (revision %d)", int(v)+1)
	}
	_, err := st.Insert("Knowledge__kav", "", f)
	return err
}

func (o *Org) deskActivityRoutes(m *http.ServeMux, p string) {
	m.HandleFunc("GET "+p+"/servicedesk/activity", func(w http.ResponseWriter, _ *http.Request) { httpjson.Write(w, http.StatusOK, o.DeskActivity()) })
	m.HandleFunc("PUT "+p+"/servicedesk/activity", putSpec(o.SetDeskActivity, func() any { return o.DeskActivity() }))
}
