package record

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/rest"
)

// TestParseValuesLikeSF holds ParseValues to the Salesforce CLI's own
// parser: every expected result below is what stringToDictionary in
// @salesforce/plugin-data 2.150.6 (lib/dataUtils.js, as shipped with sf)
// returned for the same input when run under Node 22, written as
// JSON.stringify of its result. For inputs sf rejects, the last column is
// the token its error names. sfbridge's stricter rules are tested in
// TestParseValuesStricterThanSF.
func TestParseValuesLikeSF(t *testing.T) {
	for _, tc := range []struct {
		in, want, badToken string
	}{
		{`Subject=Two' 'words`, `{"Subject":"Two words"}`, ""},
		{`Subject='Printer on floor 2' Status=New`, `{"Subject":"Printer on floor 2","Status":"New"}`, ""},
		{`Subject="Toner, black" Origin=Phone`, `{"Subject":"Toner, black","Origin":"Phone"}`, ""},
		{`Name=O'Brien`, `{"Name":"O'Brien"}`, ""},
		{`Name=O'Brien Title=Chief`, `{"Name":"O'Brien","Title":"Chief"}`, ""},
		{`Subject='unterminated`, `{"Subject":"'unterminated"}`, ""},
		{`A='x' B=it's`, `{"A":"x","B":"its"}`, ""},
		{`A="x" B=say"`, `{"A":"x","B":"say"}`, ""},
		{`A="it's" B=x`, `{"A":"it's","B":"x"}`, ""},
		{`A='say "hi"' B=1`, `{"A":"say \"hi\"","B":"1"}`, ""},
		{`Note=a'b'c d'e f'g`, "", `de fg`},
		{`Data='{"a":1,"b":[true,null]}'`, `{"Data":{"a":1,"b":[true,null]}}`, ""},
		{`Data={"a":1}`, `{"Data":"{a:1}"}`, ""},
		{`Data='{not json}'`, `{"Data":"{not json}"}`, ""},
		{`Data={}`, `{"Data":{}}`, ""},
		{`Data=[{}]`, `{"Data":[{}]}`, ""},
		{`Data=' {} '`, `{"Data":{}}`, ""},
		{`Data='"{x}"'`, `{"Data":"{x}"}`, ""},
		{`Data={"a":12.50}`, `{"Data":"{a:12.50}"}`, ""},
		{`A=true B=FALSE C=True D=fAlSe`, `{"A":true,"B":false,"C":true,"D":false}`, ""},
		{`A=' true ' B="TRUE"`, `{"A":true,"B":true}`, ""},
		{`A=trueish B=yes C=1 D=0`, `{"A":"trueish","B":"yes","C":"1","D":"0"}`, ""},
		{`A=null B=12.50 C=-3 D=01234 E=1e3`, `{"A":"null","B":"12.50","C":"-3","D":"01234","E":"1e3"}`, ""},
		{`A= B=''`, `{"A":"","B":""}`, ""},
		{`A="" B=x`, `{"A":"","B":"x"}`, ""},
		{`Formula=a=b=c`, `{"Formula":"a=b=c"}`, ""},
		{`Url=https://x.test/?a=1&b=2`, `{"Url":"https://x.test/?a=1&b=2"}`, ""},
		{"A=1    B=2\t\tC=3", `{"A":"1","B":"2","C":"3"}`, ""},
		{"  \tA=1\n B=2 \n", `{"A":"1","B":"2"}`, ""},
		{`Subject`, "", `Subject`},
		{`A=x\ y`, "", `y`},
		{`A='x\' y'`, "", `y`},
		{`A="x\" y"`, "", `y`},
		{`Path=a\\b`, `{"Path":"a\\\\b"}`, ""},
		{"A='multi\nline' B=2", `{"A":"multi\nline","B":"2"}`, ""},
		{"A=x\u00a0B=y", `{"A":"x","B":"y"}`, ""},
		{"A=x\u3000B=y", `{"A":"x","B":"y"}`, ""},
		{"A=x\u0085B=y", "{\"A\":\"x\u0085B=y\"}", ""},
		{"A=x\ufeffB=y", `{"A":"x","B":"y"}`, ""},
		{"A='\u00a0true\u00a0'", `{"A":true}`, ""},
		{`A="{" B="}"`, `{"A":"{","B":"}"}`, ""},
		{`A=1 'B=2 C=3'`, `{"A":"1","B":"2 C=3"}`, ""},
		{`A='1 "B=2' C="3"`, `{"A":"1 \"B=2","C":"3"}`, ""},
		{`A=x"y"z`, `{"A":"xyz"}`, ""},
		{`Data={"k":"v"} X=1`, `{"Data":"{k:v}","X":"1"}`, ""},
		{`Data='{"a":1} ' `, `{"Data":{"a":1}}`, ""},
		{"A=\u0130 B=FAL\u017fE C=fal\u017fe", "{\"A\":\"\u0130\",\"B\":\"FAL\u017fE\",\"C\":\"fal\u017fe\"}", ""},
		{`'Subject=x y' Status=New`, `{"Subject":"x y","Status":"New"}`, ""},
		{"A=' FALSE\t'", `{"A":false}`, ""},
		{`Data='[1, {"b": "x y"}]'`, `{"Data":[1,{"b":"x y"}]}`, ""},
		{`A='{true}'`, `{"A":"{true}"}`, ""},
		{"A='x\ty' B=\"\"\"\"", `{"A":"x\ty","B":""}`, ""},
		{`Subject=Two' 'words Origin=Web`, `{"Subject":"Two words","Origin":"Web"}`, ""},
	} {
		got, err := ParseValues(tc.in)
		if tc.badToken != "" {
			if err == nil || !strings.Contains(err.Error(), strconv.Quote(tc.badToken)+" has no '='") {
				t.Errorf("ParseValues(%q) = %v, %v; want an error naming %q", tc.in, got, err, tc.badToken)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseValues(%q): %v", tc.in, err)
			continue
		}
		var want any
		if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
			t.Fatal(err)
		}
		if g := asJSON(t, got); !reflect.DeepEqual(g, want) {
			t.Errorf("ParseValues(%q) = %s, sf gives %s", tc.in, mustMarshal(t, got), tc.want)
		}
	}
}

// asJSON is v as encoding/json would read it back from what is sent.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	var out any
	if err := json.Unmarshal(mustMarshal(t, v), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseValuesKeepsTypes(t *testing.T) {
	got, err := ParseValues(`Amount__c=12.50 Data__c='{"n":12.50,"big":12345678901234567890}' Flag__c='True'`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Amount__c": "12.50",
		"Data__c":   map[string]any{"n": json.Number("12.50"), "big": json.Number("12345678901234567890")},
		"Flag__c":   true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseValues = %#v, want %#v", got, want)
	}
}

// TestParseValuesStricterThanSF covers where sfbridge refuses what sf
// accepts (sf's result in the comment).
func TestParseValuesStricterThanSF(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"A=1 A=2", "field A is given twice"},                     // sf: {"A":"2"}
		{"Subject=x 'Subject'=y", "field Subject is given twice"}, // sf: {"Subject":"y"}
		{"=x", `"" is not a field API name`},                      // sf: {"":"x"}
		{"Sub-ject=x", `"Sub-ject" is not a field API name`},      // sf: {"Sub-ject":"x"}
		{"{}=1", `"{}" is not a field API name`},                  // sf: {"{}":1}
		{"", "no Field=Value pairs"},                              // sf: {}
		{" \t ''", "no Field=Value pairs"},                        // sf: {}
	} {
		if v, err := ParseValues(tc.in); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseValues(%q) = %v, %v; want an error with %q", tc.in, v, err, tc.err)
		}
	}
}

// format writes values back in the --values syntax so that ParseValues
// reads them as they are: strings go in single quotes, with each ' inside
// double quotes ('it'"'"'s'); a string that would be read as JSON is
// written as a JSON string; other JSON values are written as JSON.
func format(m map[string]any) string {
	quote := func(s string) string {
		return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		var text string
		switch v := m[k].(type) {
		case bool:
			text = strconv.FormatBool(v)
		case string:
			text = quote(v)
			if strings.Contains(v, "{") && strings.Contains(v, "}") && json.Valid([]byte(v)) {
				b, _ := json.Marshal(v)
				text = quote(string(b))
			}
		default:
			b, err := json.Marshal(v)
			if err != nil {
				panic(err)
			}
			text = quote(string(b))
		}
		parts = append(parts, k+"="+text)
	}
	return strings.Join(parts, " ")
}

func FuzzParseValues(f *testing.F) {
	for _, s := range []string{
		`Subject='Two words' Status=New`, `Subject=Two' 'words`, `Name=O'Brien`, `A="it's" B='say "hi"'`,
		`Data='{"a":[1,{"b":null}]}'`, `Data='"{\"a\":1}"'`, "A=' TRUE\t' B=fAlse", `A= B=''`, `F=a=b`,
		"A=1 \t B=2", `A='{x}'`, "A=x\u00a0B=y", `A='\'`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseValues(s)
		if err != nil {
			return
		}
		if len(m) == 0 {
			t.Fatalf("%q parsed to no fields without an error", s)
		}
		for k, v := range m {
			if !rest.IsAPIName(k) {
				t.Fatalf("%q gave field %q", s, k)
			}
			switch v := v.(type) {
			case bool:
			case string:
				if b, ok := boolOrString(v).(bool); ok {
					t.Fatalf("%q gave the string %q, which reads as %v", s, v, b)
				}
			case map[string]any, []any:
			default:
				t.Fatalf("%q gave %s=%#v", s, k, v)
			}
		}
		again, err := ParseValues(format(m))
		if err != nil {
			t.Fatalf("%q parsed to %#v, whose formatting %q does not parse: %v", s, m, format(m), err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("%q → %#v → %q → %#v", s, m, format(m), again)
		}
	})
}

const caseID = "500xx0000000001AAA"

func fakeOrg(t *testing.T) (*httptest.Server, *[]string) {
	t.Helper()
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = append(seen, r.Method+" "+r.URL.Path+" "+string(b))
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.Path {
		case "POST /services/data/v66.0/sobjects/Case":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"`+caseID+`","success":true,"errors":[]}`)
		case "GET /services/data/v66.0/sobjects/Case/" + caseID:
			io.WriteString(w, `{"attributes":{"type":"Case"},"Id":"`+caseID+`","Subject":"Two\nlines","Priority":null}`)
		case "PATCH /services/data/v66.0/sobjects/Case/" + caseID, "DELETE /services/data/v66.0/sobjects/Case/" + caseID:
			w.WriteHeader(http.StatusNoContent)
		case "PATCH /services/data/v66.0/sobjects/Contact/Ext__c/E-1":
			io.WriteString(w, `{"id":"003xx0000000001AAA","success":true,"errors":[],"created":false}`)
		case "POST /services/data/v66.0/sobjects/Contact":
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func runRecord(t *testing.T, srv *httptest.Server, opts *Options) (string, string, error) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	opts.IO = ios
	opts.Org = cmdutiltest.Org(t, srv.URL)
	err := run(t.Context(), opts)
	return out.String(), errOut.String(), err
}

func TestRecordCommands(t *testing.T) {
	srv, seen := fakeOrg(t)
	out, _, err := runRecord(t, srv, &Options{Op: "create", Object: "Case", Values: `Subject='Printer jammed' Origin=Web`})
	if err != nil || out != caseID+"\n" {
		t.Fatalf("create printed %q, %v", out, err)
	}
	if got := (*seen)[0]; got != `POST /services/data/v66.0/sobjects/Case {"Origin":"Web","Subject":"Printer jammed"}` {
		t.Errorf("create sent %s", got)
	}
	out, _, err = runRecord(t, srv, &Options{Op: "get", Object: "Case", ID: caseID})
	if err != nil || out != "Id        "+caseID+"\nPriority  \nSubject   Two\\nlines\n" {
		t.Fatalf("get printed %q, %v", out, err)
	}
	_, errOut, err := runRecord(t, srv, &Options{Op: "update", Object: "Case", ID: caseID, Values: "Status=Working"})
	if err != nil || errOut != "updated Case "+caseID+"\n" {
		t.Fatalf("update: %q, %v", errOut, err)
	}
	// As sf does, numbers and null go as text and Field= as "", which clears the field.
	_, _, err = runRecord(t, srv, &Options{Op: "update", Object: "Case", ID: caseID, Values: `Amount__c=12.50 Note__c=null Description= IsEscalated='TRUE' Comments=Two' 'words`})
	if want := `PATCH /services/data/v66.0/sobjects/Case/` + caseID + ` {"Amount__c":"12.50","Comments":"Two words","Description":"","IsEscalated":true,"Note__c":"null"}`; err != nil || (*seen)[len(*seen)-1] != want {
		t.Fatalf("update sent %s, %v; want %s", (*seen)[len(*seen)-1], err, want)
	}
	out, errOut, err = runRecord(t, srv, &Options{Op: "upsert", Object: "Contact", ID: "E-1", ExtIDField: "Ext__c", Values: "LastName=Doe"})
	if err != nil || out != "003xx0000000001AAA\n" || !strings.HasPrefix(errOut, "updated") {
		t.Fatalf("upsert: %q %q, %v", out, errOut, err)
	}
	out, _, err = runRecord(t, srv, &Options{Op: "delete", Object: "Case", ID: caseID, Output: jsonFlag()})
	if err != nil || !strings.Contains(out, `"success": true`) {
		t.Fatalf("delete --json: %q, %v", out, err)
	}
	_, _, err = runRecord(t, srv, &Options{Op: "create", Object: "Contact", Values: "FirstName=Jane"})
	if !errors.Is(err, rest.ErrRequiredFieldMissing) || !strings.Contains(err.Error(), "LastName") {
		t.Fatalf("failed create: %v", err)
	}
	_, _, err = runRecord(t, srv, &Options{Op: "get", Object: "Case", ID: "500xx0000000009AAA"})
	if !errors.Is(err, rest.ErrNotFound) {
		t.Fatalf("missing record: %v", err)
	}
	n := len(*seen)
	_, _, err = runRecord(t, srv, &Options{Op: "create", Object: "Case", Values: "Subject"})
	if exitcode.Of(err) != exitcode.Usage || len(*seen) != n {
		t.Fatalf("bad --values: exit %d, requests %d→%d", exitcode.Of(err), n, len(*seen))
	}
}

func jsonFlag() output.Flags { return output.Flags{JSON: true} }
