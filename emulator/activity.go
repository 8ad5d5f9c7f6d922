package emulator

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/emulator/data"
	"github.com/sfbridge/sfbridge/emulator/internal/httpjson"
	"github.com/sfbridge/sfbridge/emulator/messaging"
	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// The activity's defaults (see ActivitySpec).
const (
	DefaultCasesPerMinute   = 3
	DefaultArticlesPerHour  = 12
	DefaultEventLogDelay    = 30 * time.Second
	DefaultActivityAgent    = "Emma Bot"
	DefaultAgentFirstReply  = "Hi, this is Emma from IT support. I have read your conversation; how can I help?"
	DefaultAgentFarewell    = "Glad I could help. Goodbye!"
	activityMinOnlineTitles = 8
)

// ActivitySpec is the simulated life of an org that `sfbridge serve --dev`
// shows: service-desk agents working Cases, Knowledge editors, hourly
// event log files that come as the hours pass, and a scripted Messaging
// agent. Everything happens on the org's clock. Zero fields take the
// defaults; a negative rate, or "off", turns one part off.
type ActivitySpec struct {
	// CasesPerMinute is the rate of service-desk actions (DeskActivitySpec
	// with Reassign and NoArticles): Case updates (status, priority, owner),
	// comments, new, closed, reopened, deleted and undeleted Cases
	// (default 3, one every 20 seconds on average).
	CasesPerMinute float64 `json:"cases_per_minute,omitempty"`
	// ArticlesPerHour is the rate of Knowledge actions: a new version of a
	// published article (the old one archived), a new article, or an
	// article archived (default 12).
	ArticlesPerHour float64 `json:"articles_per_hour,omitempty"`
	// EventLogDelay is EventMonitoringSpec.HourlyDelay: how long after its
	// hour ends an hourly event log file comes (default 30s).
	EventLogDelay string `json:"event_log_delay,omitempty"`
	// Agent is the Messaging agent made the conversational scripted agent
	// (default "Emma Bot"; added, working every queue, when the org has no
	// agent of that name).
	Agent string `json:"agent,omitempty"`
	// Seed makes the actions repeatable (default 1).
	Seed uint64 `json:"seed,omitempty"`
}

// ActivityState is the activity as the admin API shows it.
type ActivityState struct {
	ActivitySpec
	Running bool `json:"running"`
	// Cases is the service-desk activity; Articles counts the Knowledge
	// actions by kind ("failed": refused by the store, LastError says why).
	Cases     DeskActivityState `json:"cases"`
	Articles  map[string]int    `json:"articles"`
	LastError string            `json:"last_error,omitempty"`
}

// knowledgeActivity is the lazily run Knowledge part of the activity.
type knowledgeActivity struct {
	mu      sync.Mutex
	spec    ActivitySpec
	on      bool
	rng     *rand.Rand
	last    time.Time
	owed    float64
	n       int
	actions map[string]int
	lastErr string
}

// DevAgentScript is the script of the activity's agent: it joins two
// seconds after a conversation is routed, answers the messages it finds
// (a bot's handed-over transcript) or the first one that comes with an
// introduction (DefaultAgentFirstReply for Emma Bot; other agents give the
// first word of their name), later ones with short canned answers, and
// ends the session with a farewell when the user says bye.
func DevAgentScript(agent string) *messaging.ScriptSpec {
	first := DefaultAgentFirstReply
	if f := strings.Fields(agent); len(f) > 0 && !strings.EqualFold(agent, DefaultActivityAgent) {
		first = strings.Replace(first, "Emma", f[0], 1)
	}
	return &messaging.ScriptSpec{
		AcceptDelay: messaging.Duration(2 * time.Second), ReplyDelay: messaging.Duration(1500 * time.Millisecond),
		FirstReply: first,
		Replies: []string{
			"Thanks, I am looking into it now.",
			"I have updated your case; you will get an email when it is done.",
			"Could you tell me a bit more?",
			"That should be fixed now. Anything else?",
		},
		EndWords: []string{"bye", "goodbye", "tschüss"},
		Farewell: DefaultAgentFarewell,
	}
}

// resolveActivity fills in the defaults.
func resolveActivity(s ActivitySpec) (ActivitySpec, time.Duration, error) {
	if s.CasesPerMinute == 0 {
		s.CasesPerMinute = DefaultCasesPerMinute
	}
	if s.ArticlesPerHour == 0 {
		s.ArticlesPerHour = DefaultArticlesPerHour
	}
	if s.CasesPerMinute > 100000 || s.ArticlesPerHour > 100000 {
		return s, 0, fmt.Errorf("activity: cases_per_minute and articles_per_hour must be at most 100000")
	}
	s.CasesPerMinute = max(s.CasesPerMinute, 0)
	s.ArticlesPerHour = max(s.ArticlesPerHour, 0)
	var delay time.Duration
	switch s.EventLogDelay {
	case "":
		s.EventLogDelay = DefaultEventLogDelay.String()
		delay = DefaultEventLogDelay
	case "off":
	default:
		d, err := time.ParseDuration(s.EventLogDelay)
		if err != nil || d < time.Second || d > 59*time.Minute {
			return s, 0, fmt.Errorf("activity: event_log_delay %q is not a Go duration from 1s to 59m (or \"off\")", s.EventLogDelay)
		}
		delay = d
	}
	if s.Agent == "" {
		s.Agent = DefaultActivityAgent
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	return s, delay, nil
}

// StartActivity starts (or changes) the simulated activity of s. Cases
// and articles change lazily, when the data API is next called, at that
// moment's time (as DeskActivitySpec); the event log schedule and the
// scripted agent are settings of Event Monitoring and Messaging. It needs
// no goroutine of its own; the scripted agent's timers stop with Close.
func (o *Org) StartActivity(s ActivitySpec) error {
	s, delay, err := resolveActivity(s)
	if err != nil {
		return err
	}
	if err := o.SetDeskActivity(DeskActivitySpec{RatePerMinute: s.CasesPerMinute, Seed: s.Seed, Reassign: true, NoArticles: true}); err != nil {
		return fmt.Errorf("activity: %w", err)
	}
	if delay > 0 {
		if err := o.SetEventMonitoring(EventMonitoringSpec{HourlyDelay: delay.String()}); err != nil {
			return fmt.Errorf("activity: %w", err)
		}
	}
	if s.Agent != "off" {
		if err := o.scriptAgent(s.Agent); err != nil {
			return fmt.Errorf("activity: %w", err)
		}
	}
	k := &o.know
	k.mu.Lock()
	defer k.mu.Unlock()
	k.spec, k.on, k.last, k.owed = s, true, o.Now(), 0
	k.rng = rand.New(rand.NewPCG(s.Seed, 0x6b6e6f77))
	if k.actions == nil {
		k.actions = map[string]int{}
	}
	return nil
}

// scriptAgent makes the named agent the conversational scripted agent,
// adding it (working every queue) when missing; an org without queues
// has nothing for it to do and is left alone.
func (o *Org) scriptAgent(name string) error {
	view := o.msg.View()
	if len(view.Queues) == 0 {
		return nil
	}
	spec := messaging.AgentSpec{Name: name, Capacity: 50, Presence: messaging.Available, Script: DevAgentScript(name)}
	found := false
	for _, a := range view.Agents {
		if strings.EqualFold(a.Name, name) {
			spec.Name, spec.Queues, spec.Capacity, found = a.Name, a.Queues, a.Capacity, true
		}
	}
	if !found {
		for _, q := range view.Queues {
			spec.Queues = append(spec.Queues, q.Name)
		}
	}
	return o.msg.PutAgent(spec)
}

// StopActivity stops the Case and Knowledge changes. The event log
// schedule and the scripted agent stay as they are (they are settings).
func (o *Org) StopActivity() {
	_ = o.SetDeskActivity(DeskActivitySpec{})
	k := &o.know
	k.mu.Lock()
	k.on = false
	k.mu.Unlock()
}

// Activity returns the activity's settings and what it has done.
func (o *Org) Activity() ActivityState {
	k := &o.know
	k.mu.Lock()
	st := ActivityState{ActivitySpec: k.spec, Running: k.on, Articles: map[string]int{}, LastError: k.lastErr}
	for n, v := range k.actions {
		st.Articles[n] = v
	}
	k.mu.Unlock()
	st.Cases = o.DeskActivity()
	return st
}

// activityTick performs the Case and Knowledge actions due since the last
// call; every data API request calls it first.
func (o *Org) activityTick(ctx context.Context) {
	o.deskTick(ctx)
	o.knowledgeTick()
}

func (o *Org) knowledgeTick() {
	k := &o.know
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.on || k.spec.ArticlesPerHour <= 0 {
		return
	}
	now := o.Now()
	if now.Before(k.last) {
		k.last = now
		return
	}
	k.owed += now.Sub(k.last).Hours() * k.spec.ArticlesPerHour
	k.last = now
	n := int(k.owed)
	k.owed -= float64(n)
	n = min(n, 1000) // a clock jumped far ahead does not stall a request
	st := o.Store()
	for range n {
		name, err := o.knowledgeAction(st, k)
		if err != nil {
			k.actions["failed"]++
			k.lastErr = name + ": " + err.Error()
			continue
		}
		k.actions[name]++
	}
}

// onlineArticles lists the KnowledgeArticleIds with an online version.
func onlineArticles(st *data.Store) []string {
	seen := map[string]bool{}
	var out []string
	st.Scan("Knowledge__kav", func(_ string, get func(string) any) {
		ka, _ := get("KnowledgeArticleId").(string)
		if get("PublishStatus") == "Online" && get("IsDeleted") != true && ka != "" && !seen[ka] {
			seen[ka] = true
			out = append(out, ka)
		}
	})
	return out
}

// knowledgeAction publishes a new version of an article (half the time),
// publishes a new article or archives one (keeping a few online).
func (o *Org) knowledgeAction(st *data.Store, k *knowledgeActivity) (string, error) {
	online := onlineArticles(st)
	roll := k.rng.IntN(100)
	switch {
	case roll < 50 && len(online) > 0:
		return "article.update", o.publishNewVersion(st, k.rng)
	case roll < 75 || len(online) <= activityMinOnlineTitles:
		return "article.publish", o.publishNewArticle(st, k)
	default:
		return "article.archive", o.archiveArticle(st, online[k.rng.IntN(len(online))])
	}
}

// activityTopics are the subjects of the articles the activity writes.
var activityTopics = [][2]string{
	{"Wi-Fi in the office", "Join the Corp network with your company account; guests use Corp-Guest."},
	{"Order a monitor", "File a case with the subject Monitor; standard monitors ship within three days."},
	{"Recover a deleted file", "Deleted files stay in the recycle bin of the shared drive for 30 days."},
	{"Update your phone number", "Change it in your profile; the directory updates overnight."},
	{"Working from abroad", "Ask your manager and IT at least two weeks before travelling with a work laptop."},
	{"Install a printer", "Printers install themselves from the software portal when you pick your floor."},
}

// publishNewArticle publishes version 1 of a new en_US article.
func (o *Org) publishNewArticle(st *data.Store, k *knowledgeActivity) error {
	k.n++
	t := activityTopics[k.rng.IntN(len(activityTopics))]
	title := fmt.Sprintf("%s (%d)", t[0], k.n)
	now := o.Now().UTC()
	url := strings.ToLower(strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(title))
	_, err := st.Insert("Knowledge__kav", "", map[string]any{
		"KnowledgeArticleId": string(o.ids.New("kA0")), "ArticleNumber": fmt.Sprintf("%09d", 5000+k.n), "Title": title,
		"UrlName": url, "Summary": t[1], "Answer__c": "<p>" + t[1] + "</p>", "Language": "en_US", "PublishStatus": "Online",
		"VersionNumber": 1, "IsLatestVersion": true, "IsMasterLanguage": true, "IsVisibleInApp": true, "IsVisibleInPkb": true,
		"IsVisibleInCsp": false, "IsVisibleInPrm": false, "ValidationStatus": "Validated",
		"FirstPublishedDate": now, "LastPublishedDate": now,
	})
	return err
}

// archiveArticle archives the online versions of an article (every
// language, as archiving the master article does).
func (o *Org) archiveArticle(st *data.Store, articleID string) error {
	var ids []string
	st.Scan("Knowledge__kav", func(id string, get func(string) any) {
		if get("KnowledgeArticleId") == articleID && get("PublishStatus") == "Online" {
			ids = append(ids, id)
		}
	})
	now := o.Now().UTC()
	for _, id := range ids {
		if err := st.Upsert("Knowledge__kav", sfid.ID(id), map[string]any{"PublishStatus": "Archived", "ArchivedDate": now}); err != nil {
			return err
		}
	}
	return nil
}

func (o *Org) activityRoutes(m *http.ServeMux, p string) {
	m.HandleFunc("GET "+p+"/activity", func(w http.ResponseWriter, _ *http.Request) { httpjson.Write(w, http.StatusOK, o.Activity()) })
	m.HandleFunc("PUT "+p+"/activity", putSpec(o.StartActivity, func() any { return o.Activity() }))
	m.HandleFunc("DELETE "+p+"/activity", func(w http.ResponseWriter, _ *http.Request) {
		o.StopActivity()
		httpjson.Write(w, http.StatusOK, o.Activity())
	})
}

// putSpec is an admin PUT that decodes a spec strictly, applies it, and
// answers with the state after: 400 for a body that does not decode or a
// spec that apply refuses.
func putSpec[S any](apply func(S) error, state func() any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s S
		if err := decodeStrict(r.Body, &s); err != nil {
			writeAdminError(w, http.StatusBadRequest, "body: %v", err)
			return
		}
		if err := apply(s); err != nil {
			writeAdminError(w, http.StatusBadRequest, "%v", err)
			return
		}
		httpjson.Write(w, http.StatusOK, state())
	}
}
