package emulator

import (
	"strconv"
	"time"

	"github.com/sfbridge/sfbridge/emulator/data"
	"github.com/sfbridge/sfbridge/emulator/eventlog"
)

// backgroundLoginsLocked records the logins of simulated users whose time
// falls in (from, now] as LoginHistory and LoginEvent rows: a tenth of
// rows_per_hour logins an hour (at least one), at deterministic times, 5 %
// of them failed. It returns the time of the next one (zero: none).
// Unlike log files they appear at once, as Salesforce's do.
func (o *Org) backgroundLoginsLocked(from, now time.Time, users []eventlog.User) time.Time {
	e := &o.elf
	st := e.settings.start
	if st.IsZero() || e.settings.rowsPerHour <= 0 || len(users) == 0 {
		return time.Time{}
	}
	per := max(e.settings.rowsPerHour/10, 1)
	step := 3600 / per
	first := from.Truncate(time.Hour)
	if first.Before(st) {
		first = st
	}
	for h := first; !h.After(now); h = h.Add(time.Hour) {
		seed := eventlog.PartSeed(e.seed, "LoginHistory", h, 0)
		for i := 0; i < per; i++ {
			x := seed ^ uint64(i)*0x9e3779b97f4a7c15
			x ^= x >> 29
			x *= 0xbf58476d1ce4e5b9
			x ^= x >> 32
			t := h.Add(time.Duration(i*step+int(x%uint64(step))) * time.Second)
			if t.After(now) {
				return t
			}
			if !t.After(from) {
				continue
			}
			o.insertBackgroundLogin(t, users[int(x>>8)%len(users)], x)
		}
	}
	return now.Truncate(time.Hour).Add(time.Hour)
}

func (o *Org) insertBackgroundLogin(t time.Time, u eventlog.User, x uint64) {
	status, browser, platform := "Success", "Chrome 124", "Mac OSX"
	if x%100 < 5 {
		status = "Invalid Password"
	}
	if x>>16&1 == 1 {
		browser, platform = "Firefox 125", "Windows 10"
	}
	ip := "203.0.113." + strconv.Itoa(int(1+x>>24%254))
	histID, err := o.data.store.Insert(data.ObjLoginHistory, "", map[string]any{
		"UserId": u.ID, "LoginTime": t, "LoginType": "Application", "SourceIp": ip, "LoginUrl": "login.salesforce.com",
		"Status": status, "Application": "Browser", "Browser": browser, "Platform": platform, "ApiType": "N/A",
		"ApiVersion": "N/A", "TlsProtocol": "TLS 1.3", "CipherSuite": "TLS_AES_256_GCM_SHA384", "CountryIso": "US",
		"AuthMethodReference": "pwd", "CreatedDate": t, "CreatedById": u.ID,
	})
	if err != nil {
		o.log.Error("emulator: background LoginHistory", "err", err)
		return
	}
	if _, err := o.data.store.Insert(data.ObjLoginEvent, "", map[string]any{
		"EventIdentifier": o.act.eventIdentifier(x), "EventDate": t, "UserId": u.ID, "Username": u.Username,
		"SourceIp": ip, "LoginUrl": "login.salesforce.com", "Status": status, "LoginType": "Application",
		"Application": "Browser", "Browser": browser, "Platform": platform, "TlsProtocol": "TLS 1.3",
		"CipherSuite": "TLS_AES_256_GCM_SHA384", "CountryIso": "US", "LoginHistoryId": string(histID),
		"HttpMethod": "POST", "AuthMethodReference": "pwd", "CreatedDate": t,
	}); err != nil {
		o.log.Error("emulator: background LoginEvent", "err", err)
	}
}
