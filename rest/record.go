package rest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Record is one record as Salesforce returns it: field name to value, with
// numbers as [json.Number], nested parent records and child query results
// as map[string]any, and Salesforce's "attributes" object (type and URL).
type Record map[string]any

// Type returns attributes.type, e.g. "Case"; "" when absent.
func (r Record) Type() string {
	a, _ := r["attributes"].(map[string]any)
	s, _ := a["type"].(string)
	return s
}

// ID returns the Id field; "" when it was not selected.
func (r Record) ID() string {
	s, _ := r["Id"].(string)
	return s
}

// Field returns the value at a dotted path such as "Contact.Email",
// matching names case-insensitively as SOQL does. ok is false when a part
// of the path is missing; a null parent yields (nil, true).
func (r Record) Field(path string) (v any, ok bool) {
	var cur any = map[string]any(r)
	for part := range strings.SplitSeq(path, ".") {
		m, isMap := asMap(cur)
		if !isMap {
			if cur == nil {
				return nil, true
			}
			return nil, false
		}
		val, found := m[part]
		if !found {
			for k, x := range m {
				if strings.EqualFold(k, part) {
					val, found = x, true
					break
				}
			}
		}
		if !found {
			return nil, false
		}
		cur = val
	}
	return cur, true
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case Record:
		return m, true
	}
	return nil, false
}

// Decode copies the record into v (a pointer to a struct with json tags)
// by a JSON round trip. To decode many records into structs, use [Query]
// with the struct type instead, which decodes each record only once.
func (r Record) Decode(v any) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("rest: Record.Decode: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("rest: Record.Decode: %w", err)
	}
	return nil
}

// Attributes is the "attributes" object of a record; embed it in a struct
// decoded by [Query] to keep the type and URL.
type Attributes struct {
	Type string `json:"type"`
	URL  string `json:"url,omitempty"`
}
