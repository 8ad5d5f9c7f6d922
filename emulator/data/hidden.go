package data

import (
	"strings"

	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// SetFieldHidden makes a field absent from the org or present again: a
// hidden field is missing from describe and retrieve, and SOQL naming it
// fails with INVALID_FIELD, as on an org without the feature behind it (an
// org without hourly event log files has no EventLogFile.Interval).
func (s *Store) SetFieldHidden(object, field string, hidden bool) bool {
	t, ok := s.tables[strings.ToLower(object)]
	if !ok {
		return false
	}
	fd, ok := t.def.Field(field)
	if !ok {
		return false
	}
	fd.hidden.Store(hidden)
	return true
}

// Remove deletes a record for good, without the recycle bin, as Salesforce
// does when an event log file passes its retention period. It reports
// whether the record existed.
func (s *Store) Remove(object string, id sfid.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.table(object)
	if e != nil {
		return false
	}
	if _, ok := t.byID[string(id)]; !ok {
		return false
	}
	s.removeLocked(t, string(id))
	return true
}
