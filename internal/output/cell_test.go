package output

import (
	"encoding/json"
	"testing"
)

func TestCell(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, ""},
		{"Printer jammed", "Printer jammed"},
		{json.Number("12.50"), "12.50"},
		{true, "true"},
		{map[string]any{"totalSize": json.Number("1"), "records": []any{map[string]any{"Id": "00a1"}}}, `[{"Id":"00a1"}]`},
		{map[string]any{"Email": "a@b.c"}, `{"Email":"a@b.c"}`},
		{[]any{"a", json.Number("1")}, `["a",1]`},
	} {
		if got := Cell(tc.in); got != tc.want {
			t.Errorf("Cell(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
