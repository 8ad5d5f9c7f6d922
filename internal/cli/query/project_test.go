package query

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/internal/output"
)

const sampleRecord = `{"attributes":{"type":"Case","url":"/services/data/v62.0/sobjects/Case/500xx0000000001AAA"},
 "Id":"500xx0000000001AAA","CaseNumber":"00001000","Subject":"Printer \"on fire\", floor 2","Amount":12.50,
 "IsClosed":false,"ClosedDate":null,"Contact":{"attributes":{"type":"Contact"},"Name":"Zoë Ågren","Email":null},
 "Owner":null,"CaseComments":{"totalSize":1,"done":true,"records":[{"CommentBody":"hi"}]}}`

func TestProjectorRendersLikeRecordField(t *testing.T) {
	cols := []string{"Id", "casenumber", "Subject", "Amount", "IsClosed", "ClosedDate", "Contact.Name", "contact.email",
		"Owner.Name", "Missing", "Subject.Nested"}
	want := []string{"500xx0000000001AAA", "00001000", `Printer "on fire", floor 2`, "12.50", "false", "",
		"Zoë Ågren", "", "", "", ""}
	p := newProjector(cols)
	got := make([]string, len(cols))
	ok, err := p.cells([]byte(sampleRecord), got)
	if err != nil || !ok {
		t.Fatalf("cells = %t, %v", ok, err)
	}
	rec, err := decodeRecord([]byte(sampleRecord))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cols {
		if got[i] != want[i] {
			t.Errorf("%s = %q, want %q", c, got[i], want[i])
		}
		if v, _ := rec.Field(c); output.Cell(v) != got[i] {
			t.Errorf("%s: projector %q, Record.Field %q", c, got[i], output.Cell(v))
		}
	}
}

func TestProjectorLeavesObjectsToTheGeneralPath(t *testing.T) {
	for _, col := range []string{"CaseComments", "Contact", "attributes"} {
		ok, err := newProjector([]string{"Id", col}).cells([]byte(sampleRecord), make([]string, 2))
		if ok || err != nil {
			t.Errorf("%s: cells = %t, %v; want a fallback", col, ok, err)
		}
	}
}

func TestProjectorRefusesWhatIsNotAnObject(t *testing.T) {
	for _, raw := range []string{``, `[]`, `"x"`, `{"a":`, `{"a" 1}`, `{"a":1,}`, `{"a":"\u00`, `{1:2}`} {
		if ok, err := newProjector([]string{"a"}).cells([]byte(raw), make([]string, 1)); err == nil {
			t.Errorf("cells(%q) = %t, nil; want an error", raw, ok)
		}
	}
}

func BenchmarkProjector(b *testing.B) {
	p := newProjector([]string{"Id", "CaseNumber", "Subject", "IsClosed", "Contact.Name", "Amount"})
	out := make([]string, 6)
	raw := []byte(sampleRecord)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.cells(raw, out); err != nil {
			b.Fatal(err)
		}
	}
}

// ambiguous reports whether some object in data has two member names that
// are equal ignoring case: a map then keeps an arbitrary one of them.
func ambiguous(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		obj, wantKey bool
		names        map[string]bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, isDelim := tok.(json.Delim); isDelim {
			switch d {
			case '{':
				stack = append(stack, &frame{obj: true, wantKey: true, names: map[string]bool{}})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].obj {
					stack[len(stack)-1].wantKey = true
				}
			}
			continue
		}
		if top != nil && top.obj {
			if top.wantKey {
				name := strings.ToLower(tok.(string))
				if top.names[name] {
					return true
				}
				top.names[name] = true
				top.wantKey = false
			} else {
				top.wantKey = true
			}
		}
	}
}

func FuzzProjector(f *testing.F) {
	f.Add([]byte(sampleRecord), "Contact.Name")
	f.Add([]byte(sampleRecord), "subject")
	f.Add([]byte(`{"A":{"b":[1,{"c":"\ud83d\ude00"}]},"a2":null}`), "a.b")
	f.Add([]byte("{\"x\":\"\xff\xfe\",\"y\":-1.5e3}"), "x")
	f.Fuzz(func(t *testing.T, data []byte, col string) {
		p := newProjector([]string{col})
		out := make([]string, 1)
		ok, err := p.cells(data, out) // must not panic, whatever data is
		if !json.Valid(data) {
			return
		}
		rec, derr := decodeRecord(data)
		if derr != nil || rec == nil {
			if err == nil && bytes.TrimSpace(data)[0] != '{' {
				t.Fatalf("cells accepted %q, which is not an object", data)
			}
			return
		}
		if err != nil {
			t.Fatalf("cells(%q) refused a valid record: %v", data, err)
		}
		if ambiguous(data) {
			return
		}
		v, _ := rec.Field(col)
		if !ok {
			switch v.(type) {
			case map[string]any, []any:
			default:
				t.Fatalf("cells fell back on %q column %q whose value is %T", data, col, v)
			}
			return
		}
		if want := output.Cell(v); out[0] != want {
			t.Fatalf("column %q of %q: projector %q, Record.Field %q", col, data, out[0], want)
		}
	})
}
