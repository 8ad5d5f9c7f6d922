package rest

import (
	"context"
	"net/http"
)

// LimitsService reads /limits. It needs the "View Setup and Configuration"
// permission, which least-privilege integration users usually lack; the
// API usage alone is always available from [Client.APIUsage].
type LimitsService service

// Limit is one org limit. Limits that Salesforce splits per connected app
// carry the split under other keys, which this type leaves out.
type Limit struct {
	Max       int64 `json:"Max"`
	Remaining int64 `json:"Remaining"`
}

// Get returns the org's limits by name, e.g. "DailyApiRequests".
func (s *LimitsService) Get(ctx context.Context) (map[string]Limit, error) {
	var m map[string]Limit
	if err := s.c.doJSON(ctx, &request{method: http.MethodGet, path: "limits"}, &m); err != nil {
		return nil, err
	}
	return m, nil
}
