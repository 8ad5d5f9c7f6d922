package eventlog

import (
	"strings"
	"testing"
)

func TestInferRetention(t *testing.T) {
	for _, tc := range []struct {
		name  string
		types []TypeInfo
		days  int
		basis string
	}{
		{"free types, daily files", []TypeInfo{{EventType: "Login", Intervals: []string{"Daily"}}, {EventType: "CspViolation", Intervals: []string{"Daily"}}},
			1, "no sign of Event Monitoring"},
		{"hourly files", []TypeInfo{{EventType: "Login", Intervals: []string{"Daily", "Hourly"}}},
			30, "Login has hourly files"},
		{"a licensed type", []TypeInfo{{EventType: "Login", Intervals: []string{"Daily"}}, {EventType: "ReportExport", Intervals: []string{"Daily"}}},
			30, "ReportExport is not one of the free types"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inferRetention(tc.types)
			for _, ti := range tc.types {
				r := ti.Retention
				if r.Days != tc.days || !r.Inferred || !strings.Contains(r.Basis, tc.basis) {
					t.Errorf("%s: %+v, want %d days, inferred, basis with %q", ti.EventType, r, tc.days, tc.basis)
				}
			}
		})
	}
}
