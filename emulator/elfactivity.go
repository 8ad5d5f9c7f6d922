package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sfbridge/sfbridge/emulator/data"
	"github.com/sfbridge/sfbridge/emulator/eventlog"
	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// maxEventsPerHour bounds the token requests and REST calls recorded per
// hour (as log rows and LoginHistory, LoginEvent, ApiEvent records), so a
// load test against the emulator does not grow its memory without end.
// Salesforce has no such cap; LoginEvent does stop recording when login
// rate limits are exceeded.
const maxEventsPerHour = 20000

// activity numbers recorded events (REQUEST_ID, EventIdentifier).
type activity struct {
	seq atomic.Uint64
}

func (a *activity) requestID(now time.Time) string {
	n := a.seq.Add(1)
	return "TID" + strconv.FormatInt(now.UnixMilli(), 36) + strconv.FormatUint(n, 36)
}

// eventIdentifier is a UUID-shaped EventIdentifier, unique per org run.
func (a *activity) eventIdentifier(seed uint64) string {
	n := a.seq.Add(1)
	x, y := seed^n*0x9e3779b97f4a7c15, n*0xbf58476d1ce4e5b9^seed>>7
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(x), uint16(x>>32), uint16(x>>48)&0xfff, uint16(y)&0xfff, y>>16&0xffffffffffff)
}

func (o *Org) eventlogUser(id sfid.ID) *eventlog.User {
	o.mu.RLock()
	defer o.mu.RUnlock()
	u := o.m.usersByID[id]
	if u == nil {
		return nil
	}
	return &eventlog.User{ID: string(u.ID), Username: u.Username}
}

func browserOf(ua string) string {
	switch {
	case ua == "":
		return "Unknown"
	case strings.Contains(ua, "Chrome"):
		return "Chrome"
	case strings.Contains(ua, "Firefox"):
		return "Firefox"
	}
	return "Unknown"
}

// recordLoginActivity turns one token request into a LoginHistory row, a
// LoginEvent row and a Login event log row. status is "Success" or
// "Failed: why".
func (o *Org) recordLoginActivity(r *http.Request, username, appName, status string) {
	now := o.Now().UTC()
	if !o.elf.underCap(now) {
		return
	}
	ip := remoteIP(r)
	var uid sfid.ID
	if username != "" {
		uid, _ = o.UserID(username)
	}
	ok := status == "Success"
	loginURL := r.Host
	tls := "Unknown"
	if r.TLS != nil {
		tls = "TLS 1.3"
	}
	var histID sfid.ID
	if uid != "" {
		var err error
		histID, err = o.data.store.Insert(data.ObjLoginHistory, "", map[string]any{
			"UserId": string(uid), "LoginTime": now, "LoginType": "Remote Access 2.0", "LoginSubType": "OAuth JWT Bearer",
			"SourceIp": ip, "LoginUrl": loginURL, "Status": truncate(status, 128), "Application": nilIfEmpty(appName),
			"Browser": browserOf(r.UserAgent()), "Platform": "Unknown", "ApiType": "N/A", "ApiVersion": "N/A",
			"TlsProtocol": tls, "CipherSuite": "Unknown", "AuthMethodReference": "oauth_jwt", "CreatedDate": now,
			"CreatedById": string(uid),
		})
		if err != nil {
			o.log.Error("emulator: LoginHistory", "err", err)
		}
		if _, err := o.data.store.Insert(data.ObjLoginEvent, "", map[string]any{
			"EventIdentifier": o.act.eventIdentifier(o.elf.seed), "EventDate": now, "UserId": string(uid), "Username": username,
			"SourceIp": ip, "LoginUrl": loginURL, "Status": truncate(status, 128), "LoginType": "Remote Access 2.0",
			"LoginSubType": "OAuth JWT Bearer", "Application": nilIfEmpty(appName), "Browser": browserOf(r.UserAgent()),
			"Platform": "Unknown", "TlsProtocol": tls, "LoginHistoryId": nilIfEmpty(string(histID)), "HttpMethod": r.Method,
			"ApiType": "N/A", "ApiVersion": "N/A", "AuthMethodReference": "oauth_jwt", "CreatedDate": now,
		}); err != nil {
			o.log.Error("emulator: LoginEvent", "err", err)
		}
	}
	loginStatus, reqStatus := "LOGIN_NO_ERROR", "S"
	if !ok {
		reqStatus = "F"
		loginStatus = "LOGIN_ERROR_INVALID_USERNAME"
		switch {
		case uid != "" && strings.Contains(status, "approve"):
			loginStatus = "LOGIN_ERROR_OAUTH_APPROVAL"
		case uid != "":
			loginStatus = "LOGIN_ERROR_INVALID_ASSERTION"
		case username == "":
			loginStatus = "LOGIN_ERROR_INVALID_ASSERTION"
		}
	}
	values := map[string]string{
		"REQUEST_ID": o.act.requestID(now), "USER_NAME": username, "LOGIN_STATUS": loginStatus, "REQUEST_STATUS": reqStatus,
		"URI": "/services/oauth2/token", "LOGIN_TYPE": "6", "LOGIN_SUB_TYPE": "oauthjwt", "BROWSER_TYPE": browserOf(r.UserAgent()),
		"SOURCE_IP": ip, "CLIENT_IP": ip, "TLS_PROTOCOL": tls, "AUTHENTICATION_METHOD_REFERENCE": "oauth_jwt",
		"RUN_TIME": "1", "CPU_TIME": "1", "DB_TOTAL_TIME": "0", "USER_TYPE": "Standard",
	}
	var u *eventlog.User
	if uid != "" {
		u = o.eventlogUser(uid)
	}
	if histID != "" {
		values["URI_ID_DERIVED"] = string(histID)
	}
	o.recordELFEvent("Login", eventlog.Event{Time: now, User: u, Values: values})
}

// recordAPICall turns a REST call into RestApi, API (queries) and
// ApiTotalUsage event log rows and, for queries, an ApiEvent row.
func (o *Org) recordAPICall(r *http.Request, w http.ResponseWriter, c caller, rest string) {
	status, size := http.StatusOK, int64(0)
	if rec, ok := w.(*responseRecorder); ok {
		if rec.status > 0 {
			status = rec.status
		}
		size = rec.bytes
	}
	now := o.Now().UTC()
	if !o.elf.underCap(now) {
		return
	}
	reqStatus := "S"
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		reqStatus = "A"
	case status == http.StatusNotFound:
		reqStatus = "N"
	case status >= 400:
		reqStatus = "F"
	}
	path := strings.TrimSuffix(rest, "/")
	seg := strings.Split(path, "/")
	entity := ""
	if len(seg) > 1 && seg[0] == "sobjects" {
		entity = seg[1]
	}
	query := r.URL.Query().Get("q")
	if query != "" {
		if i := strings.Index(strings.ToUpper(query), " FROM "); i >= 0 {
			f := strings.Fields(query[i+6:])
			if len(f) > 0 {
				entity = f[0]
			}
		}
	}
	uri := r.URL.Path
	if r.URL.RawQuery != "" {
		uri += "?" + truncate(r.URL.RawQuery, 200)
	}
	version := strings.TrimPrefix(strings.SplitN(strings.TrimPrefix(r.URL.Path, "/services/data/"), "/", 2)[0], "v")
	u := &eventlog.User{ID: string(c.userID), Username: c.username}
	ip := remoteIP(r)
	base := map[string]string{
		"REQUEST_ID": o.act.requestID(now), "URI": uri, "METHOD": r.Method, "STATUS_CODE": strconv.Itoa(status),
		"REQUEST_STATUS": reqStatus, "USER_AGENT": r.UserAgent(), "ENTITY_NAME": entity, "QUERY": query,
		"API_VERSION": version, "CLIENT_IP": ip, "RESPONSE_SIZE": strconv.FormatInt(size, 10), "MEDIA_TYPE": w.Header().Get("Content-Type"),
		"RUN_TIME": "1", "CPU_TIME": "1",
	}
	o.recordELFEvent("RestApi", eventlog.Event{Time: now, User: u, Values: base})
	usage := map[string]string{"REQUEST_ID": o.act.requestID(now), "API_FAMILY": "REST", "API_VERSION": version,
		"API_RESOURCE": "/" + seg[0], "HTTP_METHOD": r.Method, "ENTITY_NAME": entity, "STATUS_CODE": strconv.Itoa(status),
		"COUNTS_AGAINST_API_LIMIT": "1", "CLIENT_IP": ip}
	o.recordELFEvent("ApiTotalUsage", eventlog.Event{Time: now, User: u, Values: usage})
	if query == "" {
		return
	}
	api := map[string]string{"REQUEST_ID": o.act.requestID(now), "URI": uri, "REQUEST_STATUS": reqStatus, "API_TYPE": "R",
		"API_VERSION": version, "METHOD_NAME": "query", "ENTITY_NAME": entity, "QUERY": query, "CLIENT_IP": ip,
		"RESPONSE_SIZE": strconv.FormatInt(size, 10), "RUN_TIME": "1", "CPU_TIME": "1"}
	o.recordELFEvent("API", eventlog.Event{Time: now, User: u, Values: api})
	if _, err := o.data.store.Insert(data.ObjApiEvent, "", map[string]any{
		"EventIdentifier": o.act.eventIdentifier(o.elf.seed), "EventDate": now, "UserId": string(c.userID), "Username": c.username,
		"SourceIp": ip, "ApiType": "REST API", "ApiVersion": version, "Operation": "Query", "QueriedEntities": nilIfEmpty(entity),
		"Query": truncate(query, 32000), "UserAgent": nilIfEmpty(truncate(r.UserAgent(), 255)), "ElapsedTime": float64(1),
		"CreatedDate": now,
	}); err != nil {
		o.log.Error("emulator: ApiEvent", "err", err)
	}
}

// underCap counts one recorded call for the hour and says whether it is
// still under maxEventsPerHour.
func (e *elfState) underCap(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := now.Truncate(time.Hour).Unix()
	if h != e.capHour {
		e.capHour, e.capCount = h, 0
	}
	e.capCount++
	return e.capCount <= maxEventsPerHour
}

// recordLogout turns a revoked session into a LogoutEvent row.
func (o *Org) recordLogout(r *http.Request, userID sfid.ID) {
	u := o.eventlogUser(userID)
	if u == nil {
		return
	}
	now := o.Now().UTC()
	if _, err := o.data.store.Insert(data.ObjLogoutEvent, "", map[string]any{
		"EventIdentifier": o.act.eventIdentifier(o.elf.seed), "EventDate": now, "UserId": u.ID, "Username": u.Username,
		"SourceIp": remoteIP(r), "SessionType": "Oauth2", "SessionLevel": "STANDARD", "CreatedDate": now,
	}); err != nil {
		o.log.Error("emulator: LogoutEvent", "err", err)
	}
	o.recordELFEvent("Logout", eventlog.Event{Time: now, User: u, Values: map[string]string{
		"REQUEST_ID": o.act.requestID(now), "CLIENT_IP": remoteIP(r), "APP_TYPE": "2514", "USER_TYPE": "S", "SESSION_LEVEL": "1",
	}})
}

// auditEntry maps an admin API change to SetupAuditTrail's Action, Section
// and Display; ok is false for calls that change no setup.
func auditEntry(method, path string, body []byte) (action, section, display string, ok bool) {
	if method == http.MethodGet || method == http.MethodHead {
		return "", "", "", false
	}
	var b map[string]any
	_ = json.Unmarshal(body, &b)
	str := func(k string) string { s, _ := b[k].(string); return s }
	p := strings.TrimPrefix(path, strings.TrimSuffix(AdminPrefix, "/"))
	seg := strings.Split(strings.Trim(p, "/"), "/")
	name := ""
	if len(seg) > 1 {
		name, _ = url.PathUnescape(seg[1])
	}
	switch {
	case seg[0] == "users" && len(seg) == 1:
		display := "Created or changed user " + str("username")
		if ps, _ := b["permission_sets"].([]any); len(ps) > 0 {
			names := make([]string, 0, len(ps))
			for _, x := range ps {
				s, _ := x.(string)
				names = append(names, s)
			}
			return "PermSetAssign", "Manage Users", fmt.Sprintf("Permission set %s: assigned to user %s", strings.Join(names, ", "), str("username")), true
		}
		return "createduser", "Manage Users", display, true
	case seg[0] == "users" && len(seg) == 3:
		return "revokedsessions", "Manage Users", "Revoked the sessions of user " + name, true
	case seg[0] == "profiles":
		return "profileChanged", "Manage Users", "Created or changed profile " + str("name"), true
	case seg[0] == "permission-sets":
		return "PermSetCreate", "Manage Users", "Created or changed permission set " + str("name"), true
	case seg[0] == "apps" && len(seg) == 3:
		return "connectedAppCertificate", "Connected Apps", "Uploaded a certificate for connected app " + name, true
	case seg[0] == "apps" && len(seg) == 2:
		return "changedConnectedApp", "Connected Apps", "Edited connected app " + name, true
	case seg[0] == "apps":
		return "createdConnectedApp", "Connected Apps", "Created or changed connected app " + str("name"), true
	case seg[0] == "org":
		return "changedOrgSettings", "Company Profile", "Changed organization settings", true
	case seg[0] == "event-monitoring":
		return "eventMonitoringSettings", "Event Monitoring", "Changed Event Monitoring settings", true
	}
	return "", "", "", false
}

// serveAdminAudited serves an admin call and records a setup change it
// made as a SetupAuditTrail row.
func (o *Org) serveAdminAudited(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &responseRecorder{ResponseWriter: w}
	o.admin.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 300 {
		return
	}
	action, section, display, ok := auditEntry(r.Method, r.URL.Path, body)
	if !ok {
		return
	}
	now := o.Now().UTC()
	if _, err := o.data.store.Insert(data.ObjSetupAuditTrail, "", map[string]any{
		"Action": action, "Section": section, "Display": truncate(display, 1000), "CreatedDate": now,
	}); err != nil {
		o.log.Error("emulator: SetupAuditTrail", "err", err)
	}
}
