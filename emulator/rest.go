package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// API versions the org serves: v31.0 (Summer '14) to v66.0 (Spring '26).
// Older versions are retired (410), newer ones do not exist yet (404).
const (
	MinAPIVersion = 31
	MaxAPIVersion = 66
)

// restError is one element of a REST error body.
type restError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

// concurrentLimitMessage is Salesforce's message when too many long-running
// API requests run at once (help article 000389067); the rate_limit fault
// answers it, as the daily allocation's "TotalRequests Limit exceeded." would
// misstate the cause.
const concurrentLimitMessage = "ConcurrentRequests (Concurrent API Requests) Limit exceeded"

var (
	bodyInvalidSession = []byte(`[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)
	bodyNotFound       = []byte(`[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`)
	bodyLimitExceeded  = []byte(`[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`)
	bodyAPIDisabled    = []byte(`[{"message":"The REST API is not enabled for this Organization.","errorCode":"API_DISABLED_FOR_ORG"}]`)
)

func writeJSONBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "emulator: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSONBytes(w, status, b)
}

func writeRESTError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, []restError{{Message: msg, ErrorCode: code}})
}

// getOrHead answers 405 as Salesforce does unless the request is a GET or
// HEAD, and says whether it was.
func getOrHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	writeRESTError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method '"+r.Method+"' not allowed. Allowed are GET,HEAD")
	return false
}

// bearerToken returns the token of an "Authorization: Bearer" (or the
// legacy "OAuth") header.
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if len(h) > 6 && strings.EqualFold(h[:6], "OAuth ") {
		return strings.TrimSpace(h[6:])
	}
	return ""
}

// caller is the authenticated user of a request.
type caller struct {
	s        *session
	userID   sfid.ID
	username string
	orgID    sfid.ID
	eff      *effective
	now      time.Time // the org clock when the request was authenticated
	apiMax   int64     // the org's daily API request allocation
}

// authenticate resolves the request's session. It returns false for an
// unknown, expired or revoked token and for a user who is no longer active.
func (o *Org) authenticate(token string) (caller, bool) {
	if token == "" {
		return caller{}, false
	}
	s, ok := o.sessions.get(token)
	if !ok {
		return caller{}, false
	}
	now := o.Now()
	if s.state(now) != "" {
		return caller{}, false
	}
	o.mu.RLock()
	u := o.m.usersByID[s.userID]
	if u == nil || !u.Active || u.Frozen {
		o.mu.RUnlock()
		return caller{}, false
	}
	c := caller{s: s, userID: u.ID, username: u.Username, orgID: o.m.org.ID, eff: u.eff,
		now: now, apiMax: int64(o.m.org.DailyAPIRequests)}
	o.mu.RUnlock()
	s.touch(now)
	return c, true
}

// parseVersion reads "v62.0" (or "latest") and returns the major version.
func parseVersion(seg string) (int, bool) {
	if seg == "latest" {
		return MaxAPIVersion, true
	}
	if len(seg) < 4 || seg[0] != 'v' || !strings.HasSuffix(seg, ".0") {
		return 0, false
	}
	n, err := strconv.Atoi(seg[1 : len(seg)-2])
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// releaseLabel names the release of an API version: v60.0 is Spring '24,
// and there are three releases a year (Winter is named for the next year).
func releaseLabel(v int) string {
	k := v - 60
	cycle := k / 3
	s := k % 3
	if s < 0 {
		s += 3
		cycle--
	}
	year := 24 + cycle
	switch s {
	case 0:
		return fmt.Sprintf("Spring '%02d", year)
	case 1:
		return fmt.Sprintf("Summer '%02d", year)
	default:
		return fmt.Sprintf("Winter '%02d", year+1)
	}
}

func versionsBody() []byte {
	type ver struct {
		Label   string `json:"label"`
		URL     string `json:"url"`
		Version string `json:"version"`
	}
	var vs []ver
	for v := MinAPIVersion; v <= MaxAPIVersion; v++ {
		vs = append(vs, ver{releaseLabel(v), fmt.Sprintf("/services/data/v%d.0", v), fmt.Sprintf("%d.0", v)})
	}
	b, _ := json.Marshal(vs)
	return b
}

// handleServicesData serves /services/data and everything below it.
func (o *Org) handleServicesData(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/services/data")
	if p == "" || p == "/" {
		if !getOrHead(w, r) {
			return
		}
		writeJSONBytes(w, http.StatusOK, o.versions)
		return
	}
	seg, rest, _ := strings.Cut(p[1:], "/")
	v, ok := parseVersion(seg)
	if !ok || v > MaxAPIVersion {
		writeJSONBytes(w, http.StatusNotFound, bodyNotFound)
		return
	}
	if v < MinAPIVersion {
		writeRESTError(w, http.StatusGone, "UNSUPPORTED_API_VERSION", fmt.Sprintf("API version %d.0 has been retired; use v%d.0 or later", v, MinAPIVersion))
		return
	}
	c, ok := o.authenticate(bearerToken(r))
	if !ok {
		writeJSONBytes(w, http.StatusUnauthorized, bodyInvalidSession)
		return
	}
	if rw, ok := w.(*responseRecorder); ok {
		rw.username = c.username
	}
	if !c.eff.has("apienabled") {
		writeJSONBytes(w, http.StatusForbidden, bodyAPIDisabled)
		return
	}
	max := c.apiMax
	used, ok := o.usage.add(c.now, max)
	w.Header().Set("Sforce-Limit-Info", "api-usage="+strconv.FormatInt(used, 10)+"/"+strconv.FormatInt(max, 10))
	if !ok {
		writeJSONBytes(w, http.StatusForbidden, bodyLimitExceeded)
		return
	}
	version := seg
	if seg == "latest" {
		version = fmt.Sprintf("v%d.0", MaxAPIVersion)
	}
	defer o.recordAPICall(r, w, c, rest)
	if id, ok := logFilePath(rest); ok {
		o.serveLogFile(w, r, c, id)
		return
	}
	switch strings.TrimSuffix(rest, "/") {
	case "":
		o.serveResources(w, r, c, version)
	case "limits":
		o.serveLimits(w, r, c, used, max)
	default:
		o.syncELF()
		o.serveData(w, r, c, version, rest)
	}
}

// resourceNames are the resources the org serves at their own URL; the
// resource map lists these and no others, so a client that discovers a
// resource there can use it. (The Tooling API's query is served, but not
// the Tooling root, so "tooling" is not listed.)
var resourceNames = []string{"composite", "limits", "query", "queryAll", "sobjects"}

func (o *Org) serveResources(w http.ResponseWriter, r *http.Request, c caller, version string) {
	if !getOrHead(w, r) {
		return
	}
	m := make(map[string]string, len(resourceNames)+1)
	for _, n := range resourceNames {
		m[n] = "/services/data/" + version + "/" + n
	}
	login, _ := o.urls(r)
	m["identity"] = login + "/id/" + string(c.orgID) + "/" + string(c.userID)
	writeJSON(w, http.StatusOK, m)
}

// limitsBody renders /limits; only DailyApiRequests changes, so the rest is
// rendered once.
type limitsBody struct {
	once           sync.Once
	prefix, suffix []byte
	pool           sync.Pool
}

var staticLimits = []struct {
	name string
	max  int
}{
	{"ConcurrentAsyncGetReportInstances", 200}, {"ConcurrentSyncReportRuns", 20},
	// DailyApiRequests goes here.
	{"DailyAsyncApexExecutions", 250000}, {"DailyBulkApiBatches", 15000}, {"DailyBulkV2QueryFileStorageMB", 976562},
	{"DailyBulkV2QueryJobs", 10000}, {"DailyDurableGenericStreamingApiEvents", 10000},
	{"DailyDurableStreamingApiEvents", 10000}, {"DailyGenericStreamingApiEvents", 10000},
	{"DailyStandardVolumePlatformEvents", 10000}, {"DailyStreamingApiEvents", 10000},
	{"DailyWorkflowEmails", 405}, {"DataStorageMB", 5}, {"FileStorageMB", 20},
	{"HourlyAsyncReportRuns", 1200}, {"HourlyDashboardRefreshes", 200}, {"HourlyDashboardResults", 5000},
	{"HourlyODataCallout", 10000}, {"HourlyPublishedPlatformEvents", 50000},
	{"HourlyPublishedStandardVolumePlatformEvents", 50000}, {"HourlySyncReportRuns", 500},
	{"MassEmail", 10}, {"PermissionSets", 1500}, {"SingleEmail", 15},
}

func (l *limitsBody) render(used, max int64) *[]byte {
	l.once.Do(func() {
		var b strings.Builder
		b.WriteString("{")
		for i, s := range staticLimits {
			if i == 2 {
				l.prefix = []byte(b.String())
				b.Reset()
			}
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"%s":{"Max":%d,"Remaining":%d}`, s.name, s.max, s.max)
		}
		b.WriteString("}")
		l.suffix = []byte(b.String())
	})
	bp, _ := l.pool.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b := append((*bp)[:0], l.prefix...)
	b = append(b, `,"DailyApiRequests":{"Max":`...)
	b = strconv.AppendInt(b, max, 10)
	b = append(b, `,"Remaining":`...)
	b = strconv.AppendInt(b, max-used, 10)
	b = append(b, '}')
	b = append(b, l.suffix...)
	*bp = b
	return bp
}

func (o *Org) serveLimits(w http.ResponseWriter, r *http.Request, c caller, used, max int64) {
	if !getOrHead(w, r) {
		return
	}
	if !c.eff.has("viewsetup") && !c.eff.has("modifyalldata") {
		writeRESTError(w, http.StatusForbidden, "INSUFFICIENT_ACCESS", "The user does not have the View Setup and Configuration permission needed to view limits")
		return
	}
	bp := o.limits.render(used, max)
	writeJSONBytes(w, http.StatusOK, *bp)
	o.limits.pool.Put(bp)
}
