package eventlog

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ObjectRecord is an ECS event made from a record of a Salesforce object.
type ObjectRecord struct {
	ID        string    // event.id: the record's EventIdentifier, else its Id
	Dataset   Dataset   // where it goes
	Timestamp time.Time // @timestamp
	JSON      []byte    // the ECS document, one JSON object without a newline
}

// ObjectError says why a record could not become an event.
type ObjectError struct {
	Object  string
	Problem string
}

func (e *ObjectError) Error() string {
	return fmt.Sprintf("eventlog: %s record: %s", e.Object, e.Problem)
}

// ObjectEvent converts one record of SetupAuditTrail, LoginHistory or a
// Real-Time Event Monitoring storage object (LoginEvent, LogoutEvent,
// ApiEvent, ...) to the same ECS shape as the event log files' rows. rec is
// the record as encoding/json decodes it from a query result; object may be
// empty when rec carries attributes.type.
//
// event.id is EventIdentifier when the record has one (the Real-Time Event
// Monitoring objects), else the record Id. @timestamp is EventDate, else
// LoginTime, else CreatedDate. Every field of the record is kept under
// salesforce.<group>.<field in snake_case>; the ECS fields are derived copies.
// Objects are few and small, so this path uses encoding/json.
func ObjectEvent(object string, rec map[string]any, instanceURL string) (ObjectRecord, error) {
	if object == "" {
		if attrs, ok := rec["attributes"].(map[string]any); ok {
			object, _ = attrs["type"].(string)
		}
	}
	if object == "" {
		return ObjectRecord{}, &ObjectError{Object: "unknown", Problem: "no object name: pass it, or keep the record's attributes.type"}
	}
	id := strField(rec, "EventIdentifier")
	if id == "" {
		id = strField(rec, "Id")
	}
	if id == "" {
		return ObjectRecord{}, &ObjectError{Object: object, Problem: "it has neither EventIdentifier nor Id: add Id to the query's SELECT list"}
	}
	var ts time.Time
	for _, name := range [...]string{"EventDate", "LoginTime", "CreatedDate", "Timestamp"} {
		if s := strField(rec, name); s != "" {
			if t, ok := parseTime([]byte(s)); ok {
				ts = t
				break
			}
		}
	}
	if ts.IsZero() {
		return ObjectRecord{}, &ObjectError{Object: object, Problem: "it has no EventDate, LoginTime or CreatedDate to date it: add the field to the query's SELECT list"}
	}
	ds := DatasetFor(object)
	cls := classify(object)
	doc := map[string]any{}
	set := func(path string, v any) bool { return setPath(doc, strings.Split(path, "."), v) }

	set("@timestamp", ts.Format("2006-01-02T15:04:05.000Z"))
	set("event.id", id)
	set("event.dataset", ds.Name)
	set("event.module", "salesforce")
	set("event.provider", "Object")
	set("event.kind", "event")
	if cls.action != "" {
		set("event.action", cls.action)
	}
	if len(cls.category) > 0 {
		set("event.category", cls.category)
	}
	if len(cls.typ) > 0 {
		set("event.type", cls.typ)
	}
	if instanceURL != "" {
		set("salesforce.instance_url", instanceURL)
	}
	if s := strField(rec, "CreatedDate"); s != "" {
		if t, ok := parseTime([]byte(s)); ok {
			set("event.created", t.Format("2006-01-02T15:04:05.000Z"))
		}
	}
	if a := strField(rec, "Action"); a != "" && object == "SetupAuditTrail" {
		set("event.action", a)
	}
	if s := strField(rec, "Status"); s != "" {
		if s == "Success" {
			set("event.outcome", "success")
		} else {
			set("event.outcome", "failure")
		}
	}
	if s := strField(rec, "Username"); s != "" {
		set("user.email", s)
		set("user.name", s)
	}
	for _, f := range [...]string{"UserId", "CreatedById"} {
		if s := strField(rec, f); s != "" {
			set("user.id", s)
			break
		}
	}
	if s := strField(rec, "UserType"); s != "" {
		set("user.roles", []string{s})
	}
	if d := strField(rec, "Display"); strings.HasPrefix(d, "For user ") {
		if name, _, ok := strings.Cut(d[len("For user "):], ","); ok && name != "" {
			set("user.name", name)
		}
	}
	for _, f := range [...]string{"SourceIp", "ClientIp"} {
		if s := strField(rec, f); isIP([]byte(s)) {
			set("source.ip", s)
			set("related.ip", []string{s})
			break
		}
	}
	geo := [][2]string{{"Country", "country_name"}, {"CountryIso", "country_iso_code"}, {"City", "city_name"},
		{"PostalCode", "postal_code"}, {"Subdivision", "region_name"}}
	for _, g := range geo {
		if s := strField(rec, g[0]); s != "" {
			set("source.geo."+g[1], s)
		}
	}
	if lat, ok := rec["LoginLatitude"].(float64); ok {
		if lon, ok := rec["LoginLongitude"].(float64); ok {
			set("source.geo.location", map[string]any{"lat": lat, "lon": lon})
		}
	}
	for _, c := range [][2]string{{"LoginUrl", "event.url"}, {"Browser", "user_agent.name"}, {"Platform", "user_agent.os.name"},
		{"HttpMethod", "http.request.method"}, {"CipherSuite", "tls.cipher"}, {"Uri", "url.original"}} {
		if s := strField(rec, c[0]); s != "" {
			set(c[1], s)
		}
	}
	if p, v, ok := splitTLS([]byte(strField(rec, "TlsProtocol"))); ok {
		set("tls.version_protocol", strings.ToLower(string(p)))
		set("tls.version", string(v))
	}

	group := "salesforce." + ds.Group + "."
	if ds.Group == "login" {
		for _, n := range [][2]string{{"AuthServiceId", "auth.service_id"}, {"AuthMethodReference", "auth.method_reference"},
			{"LoginGeoId", "geo_id"}, {"LoginHistoryId", "history_id"}, {"ApiType", "api.type"}, {"ApiVersion", "api.version"},
			{"LoginType", "type"}, {"PolicyOutcome", "transaction_security.policy.outcome"},
			{"PolicyId", "transaction_security.policy.id"}, {"LoginKey", "key"}} {
			if v, ok := rec[n[0]]; ok && !empty(v) {
				set(group+n[1], v)
			}
		}
	}
	if object == "SetupAuditTrail" {
		set(group+"event_type", object)
	}
	names := make([]string, 0, len(rec))
	for k := range rec {
		if k != "attributes" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		v := rec[k]
		if empty(v) {
			continue
		}
		snake := snakeCase(k)
		if !setPath(doc, []string{"salesforce", ds.Group, snake}, v) {
			setPath(doc, []string{"salesforce", ds.Group, strings.ReplaceAll(k, ".", "_")}, v)
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return ObjectRecord{}, &ObjectError{Object: object, Problem: "it holds a value JSON cannot encode: " + err.Error()}
	}
	return ObjectRecord{ID: id, Dataset: ds, Timestamp: ts, JSON: b}, nil
}

func strField(rec map[string]any, name string) string {
	s, _ := rec[name].(string)
	return s
}

func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	}
	return false
}

// setPath sets doc[path...] = v, creating objects on the way. It reports
// false, changing nothing, when the path is taken or runs through a value.
func setPath(doc map[string]any, path []string, v any) bool {
	cur := doc
	for i, p := range path {
		if i == len(path)-1 {
			if _, taken := cur[p]; taken {
				return false
			}
			cur[p] = v
			return true
		}
		next, ok := cur[p]
		if !ok {
			m := map[string]any{}
			cur[p] = m
			cur = m
			continue
		}
		m, isMap := next.(map[string]any)
		if !isMap {
			return false
		}
		cur = m
	}
	return false
}

// snakeCase turns a Salesforce field name into an ECS-style one:
// "SourceIp" → "source_ip", "LoginHistoryId" → "login_history_id".
func snakeCase(s string) string {
	return strings.ReplaceAll(kebab(s), "-", "_")
}
