package servicedesk

import (
	"bytes"
	"encoding/json"
	"testing"
)

// marshalIndex writes what encoding/json writes for the index, whatever
// the keys, versions and URL names hold.
func FuzzMarshalIndex(f *testing.F) {
	f.Add("kA0xx0000000001AAA/en_US", "ka0xx0000000001AAA@2026-12-05T03:14:52.000+0000", "reset-your-password", "kA0B/de", "v2", "ü<&>\"\\\n\u2028\xff")
	f.Add("", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, k1, v1, u1, k2, v2, u2 string) {
		current := map[string]indexEntry{k1: {Version: v1, URLName: u1}, k2: {Version: v2, URLName: u2}}
		want, err := json.Marshal(knowledgeIndex{Entries: current})
		if err != nil {
			t.Fatal(err)
		}
		got := marshalIndex(current)
		if !bytes.Equal(got, want) {
			t.Fatalf("marshalIndex:\n got %s\nwant %s", got, want)
		}
		if cap(got) < len(got) || cap(got)-len(got) > 1 {
			t.Fatalf("buffer of %d bytes for a document of %d: the size was not computed exactly", cap(got), len(got))
		}
		var back knowledgeIndex
		if err := json.Unmarshal(got, &back); err != nil || len(back.Entries) != len(current) {
			t.Fatalf("unmarshal: %v, %d entries", err, len(back.Entries))
		}
	})
}
