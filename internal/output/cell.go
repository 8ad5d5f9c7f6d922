package output

import (
	"encoding/json"
	"strconv"
)

// Cell renders one value for a table, CSV or TSV cell: null is empty,
// numbers as Salesforce sent them, a child subquery's records as JSON.
func Cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		if recs, ok := x["records"]; ok {
			b, _ := json.Marshal(recs)
			return string(b)
		}
		b, _ := json.Marshal(x)
		return string(b)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
