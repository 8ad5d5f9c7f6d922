package servicedesk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/state"
)

// marshalIndex writes what encoding/json writes for the index, whatever
// the keys, versions and URL names hold.
func FuzzMarshalIndex(f *testing.F) {
	f.Add("kA0xx0000000001AAA/en_US", "ka0xx0000000001AAA@2026-12-05T03:14:52.000+0000", "reset-your-password", "kA0B/de", "v2", "ü<&>\"\\\n\u2028\xff")
	f.Add("", "", "", "", "", "")
	f.Add("\xff", "v1", "u1", "\xfe", "v2", "u2") // two keys that both read back as U+FFFD
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
		// It reads back as valid JSON. (Two keys that differ only in
		// invalid UTF-8 read back as one, as with encoding/json's own
		// output: both become U+FFFD.)
		var back knowledgeIndex
		if err := json.Unmarshal(got, &back); err != nil || len(back.Entries) == 0 {
			t.Fatalf("unmarshal: %v, %d entries", err, len(back.Entries))
		}
	})
}

// BenchmarkKnowledgeGet looks up synced articles by URL name among
// 100,000 (-short: 10,000) in one language. "cached" is Get as the bot
// API calls it, with the parsed index kept between calls; "uncached"
// drops it before each call, which is what every Get cost before the
// index was cached (read and decode the whole index).
func BenchmarkKnowledgeGet(b *testing.B) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	ctx := context.Background()
	st, err := state.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "k.db"), state.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	current := map[string]indexEntry{}
	var docs []state.Document
	for i := range n {
		key := fmt.Sprintf("kA0%015d/en_US", i)
		a := Article{ID: fmt.Sprintf("ka0%015d", i), KnowledgeArticleID: key[:18], URLName: fmt.Sprintf("fix-%d", i), Title: "How to fix it", Language: "en_US"}
		data, _ := json.Marshal(a)
		current[key] = indexEntry{Version: a.ID + "@2026-12-05T00:00:00.000+0000", URLName: a.URLName}
		docs = append(docs, state.Document{Org: "bench", Kind: kindArticle, ID: key, Data: data, UpdatedAt: time.Unix(0, 0)})
		if len(docs) == 1000 {
			if err := st.PutDocuments(ctx, docs); err != nil {
				b.Fatal(err)
			}
			docs = docs[:0]
		}
	}
	if err := st.PutDocuments(ctx, indexDocs("bench", "en_US", marshalIndex(current), time.Unix(0, 0))); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mode := range []string{"cached", "uncached"} {
		b.Run(mode, func(b *testing.B) {
			k := &Knowledge{Store: st, Org: "bench"}
			for b.Loop() {
				if mode == "uncached" {
					k.indexes = nil
				}
				i := rng.IntN(n)
				a, err := k.Get(ctx, fmt.Sprintf("fix-%d", i), "en_US")
				if err != nil || a.URLName != fmt.Sprintf("fix-%d", i) {
					b.Fatalf("Get(fix-%d) = %+v, %v", i, a, err)
				}
			}
		})
	}
}
