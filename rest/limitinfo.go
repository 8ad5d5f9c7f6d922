package rest

import (
	"fmt"
	"strconv"
	"strings"
)

// LimitInfo is the API usage Salesforce reports in the Sforce-Limit-Info
// response header, e.g. "api-usage=25/5000" or
// "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)".
// Salesforce recalculates the numbers asynchronously, so they lag a little.
type LimitInfo struct {
	// Used and Max are the org's rolling 24-hour API requests.
	Used, Max int64
	// PerApp is the connected app's own allocation, when it has one.
	PerApp *AppUsage
}

// AppUsage is a connected app's share of the API allocation.
type AppUsage struct {
	Used, Max int64
	App       string
}

// Remaining is Max - Used, never negative.
func (l LimitInfo) Remaining() int64 { return max(0, l.Max-l.Used) }

// String renders the header form.
func (l LimitInfo) String() string {
	s := fmt.Sprintf("api-usage=%d/%d", l.Used, l.Max)
	if l.PerApp != nil {
		s += fmt.Sprintf("; per-app-api-usage=%d/%d(appName=%s)", l.PerApp.Used, l.PerApp.Max, l.PerApp.App)
	}
	return s
}

// ParseLimitInfo parses a Sforce-Limit-Info header value. Segments other
// than api-usage and per-app-api-usage are ignored; api-usage is required.
func ParseLimitInfo(h string) (LimitInfo, error) {
	var li LimitInfo
	found := false
	for seg := range strings.SplitSeq(h, ";") {
		name, val, ok := strings.Cut(strings.TrimSpace(seg), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(name) {
		case "api-usage":
			used, maxv, err := parseUsage(val)
			if err != nil {
				return LimitInfo{}, fmt.Errorf("rest: Sforce-Limit-Info %q: %w", h, err)
			}
			li.Used, li.Max, found = used, maxv, true
		case "per-app-api-usage":
			nums, app, _ := strings.Cut(val, "(")
			used, maxv, err := parseUsage(nums)
			if err != nil {
				return LimitInfo{}, fmt.Errorf("rest: Sforce-Limit-Info %q: %w", h, err)
			}
			app = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(app), "appName="), ")")
			li.PerApp = &AppUsage{Used: used, Max: maxv, App: app}
		}
	}
	if !found {
		return LimitInfo{}, fmt.Errorf("rest: Sforce-Limit-Info %q has no api-usage", h)
	}
	return li, nil
}

func parseUsage(s string) (used, maxv int64, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, 0, fmt.Errorf("usage %q is not used/max", s)
	}
	if used, err = strconv.ParseInt(strings.TrimSpace(a), 10, 64); err != nil || used < 0 {
		return 0, 0, fmt.Errorf("usage %q: bad used count", s)
	}
	if maxv, err = strconv.ParseInt(strings.TrimSpace(b), 10, 64); err != nil || maxv < 0 {
		return 0, 0, fmt.Errorf("usage %q: bad maximum", s)
	}
	return used, maxv, nil
}
