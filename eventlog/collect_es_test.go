package eventlog_test

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/sfbridge/sfbridge/sink/elasticsearch"
)

// bulkStore is a minimal Elasticsearch _bulk endpoint: create stores a
// document under its data stream and _id (201), or answers 409 when the
// _id is taken, as Elasticsearch does.
type bulkStore struct {
	mu        sync.Mutex
	docs      map[string]bool // data stream + "/" + _id
	conflicts int
}

func (b *bulkStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path != "/_bulk" {
		io.WriteString(w, `{"version":{"number":"8.19.0"}}`)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		body = zr
	}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var items []string
	for sc.Scan() {
		var action map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil || !sc.Scan() {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		meta := action["create"]
		key := meta.Index + "/" + meta.ID
		if b.docs[key] {
			b.conflicts++
			items = append(items, fmt.Sprintf(`{"create":{"_index":%q,"_id":%q,"status":409,"error":{"type":"version_conflict_engine_exception","reason":"document already exists"}}}`, meta.Index, meta.ID))
			continue
		}
		b.docs[key] = true
		items = append(items, fmt.Sprintf(`{"create":{"_index":%q,"_id":%q,"status":201,"result":"created"}}`, meta.Index, meta.ID))
	}
	fmt.Fprintf(w, `{"took":1,"errors":%t,"items":[`, false)
	for i, it := range items {
		if i > 0 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, it)
	}
	io.WriteString(w, "]}")
}

// TestCollectIntoElasticsearchStoresEveryIDOnce collects into a _bulk
// endpoint through failures after delivered batches: the replayed events
// come back as 409 and every event is stored once under its event.id.
func TestCollectIntoElasticsearchStoresEveryIDOnce(t *testing.T) {
	e := newEnv(t, sampleOrg())
	want := reference(e, "Login")
	store := &bulkStore{docs: map[string]bool{}}
	srv := httptest.NewServer(store)
	defer srv.Close()
	crashes := 0
	for failAt := 1; ; failAt += 2 {
		es, err := elasticsearch.New(elasticsearch.Options{Addresses: []string{srv.URL}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.run(e.config("es", &failingSink{Sink: es, failAt: failAt}, "Login"))
		if err == nil {
			break
		}
		if !errors.Is(err, errCrash) {
			t.Fatal(err)
		}
		crashes++
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if crashes < 3 || store.conflicts == 0 {
		t.Fatalf("%d crashes, %d replayed events: the test proves little", crashes, store.conflicts)
	}
	for _, id := range want {
		if !store.docs["logs-salesforce.login-default/"+id] {
			t.Errorf("event %s not stored", id)
		}
	}
	if len(store.docs) != len(want) {
		t.Errorf("%d documents stored, want %d", len(store.docs), len(want))
	}
}
