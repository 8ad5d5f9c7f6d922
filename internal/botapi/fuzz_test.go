package botapi

import (
	"strings"
	"testing"
)

func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"e1.0.0", "e1.12.40", "h1.7", "e1.01.2", "e1.-1.2", "e1.9223372036854775808.1", "e1..", "", "h1.", "e1.1.2.3"} {
		f.Add(s, 2)
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 8 {
			return
		}
		for _, prefix := range []string{"e1", "h1"} {
			c, err := ParseCursor(s, prefix, n)
			if err != nil {
				continue
			}
			if len(c) != n {
				t.Fatalf("%q: %d positions, want %d", s, len(c), n)
			}
			for _, v := range c {
				if v < 0 {
					t.Fatalf("%q: negative position %d", s, v)
				}
			}
			if back := FormatCursor(prefix, c); back != s {
				t.Fatalf("%q parsed to %v, formats as %q", s, c, back)
			}
		}
	})
}

func FuzzHandoffRequest(f *testing.F) {
	for _, s := range []string{
		`{"user_id":"emp-42","routing":{"Topic":"Payroll"},"transcript":[{"role":"Bot","text":"hi"}]}`,
		`{"user_id":""}`, `{"user_id":"a","routing":{"bad name":"x"}}`, `{"user_id":"a"} {}`, `{"user_id":"a","x":1}`, `[]`, `null`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var req HandoffRequest
		err := decodeJSON(strings.NewReader(s), 1<<16, &req)
		if err == nil {
			err = req.check()
		}
		if err != nil {
			e := classify(err)
			if e.Status != 400 && e.Status != 413 {
				t.Fatalf("%q: status %d for bad input", s, e.Status)
			}
			return
		}
		if strings.TrimSpace(req.UserID) == "" {
			t.Fatalf("%q: accepted without a user id", s)
		}
		for k := range req.Routing {
			if !apiName(k) {
				t.Fatalf("%q: accepted routing attribute %q", s, k)
			}
		}
	})
}

func FuzzTypeFilter(f *testing.F) {
	for _, s := range []string{"case.*", "case.*,comment.created", "", ",", "a*b", "knowledge.*, case.created"} {
		f.Add(s, "case.created")
	}
	f.Fuzz(func(t *testing.T, filter, typ string) {
		keep, err := typeFilter(filter)
		if err != nil || keep == nil {
			return
		}
		for _, entry := range strings.Split(filter, ",") {
			if strings.TrimSpace(entry) == typ && !strings.HasSuffix(typ, ".*") && !keep(typ) {
				t.Fatalf("filter %q drops %q, which it names", filter, typ)
			}
		}
		if keep(typ) {
			named := false
			for _, entry := range strings.Split(filter, ",") {
				entry = strings.TrimSpace(entry)
				named = named || entry == typ || strings.HasSuffix(entry, ".*") && strings.HasPrefix(typ, strings.TrimSuffix(entry, "*"))
			}
			if !named {
				t.Fatalf("filter %q keeps %q, which it does not name", filter, typ)
			}
		}
	})
}
