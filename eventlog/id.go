package eventlog

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
)

// The event.id recipe. It is part of sfbridge's output contract: change it and
// every re-delivered event gets a new id, so Elasticsearch and Kafka would
// hold it twice. Bump the version prefix if it ever has to change.
//
// For an event log row that has a REQUEST_ID:
//
//	SHA-256("sfbridge.elf.v1" 0x00 EventType 0x00 ORGANIZATION_ID 0x00 TIMESTAMP 0x00 REQUEST_ID)
//
// the fields Elastic's integration fingerprints (REQUEST_ID + TIMESTAMP +
// ORGANIZATION_ID), plus the event type, because one request writes rows to
// several event types (an API call has an API row, URI rows and Apex rows with
// the same REQUEST_ID and often the same millisecond) and a single Kafka topic
// or index may hold them all.
//
// A row without a REQUEST_ID is identified by its content instead:
//
//	SHA-256("sfbridge.elf.row.v1" 0x00 EventType 0x00 name1 0x00 value1 0x00 name2 0x00 value2 ...)
//
// over every column, in the order of the column names (so a file whose
// columns come in another order gives the same ids). The file Id and the row
// number are deliberately not part of either recipe: Salesforce regenerates
// files (new Id) and a late hourly file may hold rows in another position, and
// the id must not change then.
//
// Two rows with the same key inside one file (one request that makes two
// callouts in the same millisecond) are both kept: the n-th repeat (n ≥ 1) of
// a key among the rows sharing its TIMESTAMP hashes "0x00 #n" appended to the
// input above. Files list rows in TIMESTAMP order, so the repeats are counted
// with memory bounded by the rows of one millisecond (and at most 65,536 keys).
//
// event.id is the first 16 bytes of the digest in lower-case hex (32
// characters).
const (
	idPrefixRequest = "sfbridge.elf.v1"
	idPrefixRow     = "sfbridge.elf.row.v1"
	maxRepeatKeys   = 1 << 16
)

// idMaker computes event ids for the rows of one file.
type idMaker struct {
	eventType string
	reqIdx    int // -1 when the file has no REQUEST_ID column
	tsIdx     int
	orgIdx    int
	names     []string
	sorted    []int // column indices in name order, for content ids
	buf       []byte
	lastTS    []byte
	group     []groupKey          // the keys of the rows sharing lastTS, while few
	seen      map[[16]byte]uint32 // the same, once there are many
}

type groupKey struct {
	key [16]byte
	n   uint32
}

// repeats counts key among the rows sharing the current TIMESTAMP and
// returns how many came before it. Most groups hold one to a few rows: a
// short slice serves them without hashing; a large group moves to a map.
func (m *idMaker) repeats(key [16]byte) uint32 {
	if len(m.seen) == 0 && len(m.group) < 32 {
		for i := range m.group {
			if m.group[i].key == key {
				m.group[i].n++
				return m.group[i].n - 1
			}
		}
		m.group = append(m.group, groupKey{key: key, n: 1})
		return 0
	}
	if len(m.seen) == 0 {
		for _, g := range m.group {
			m.seen[g.key] = g.n
		}
		m.group = m.group[:0]
	}
	if len(m.seen) >= maxRepeatKeys {
		clear(m.seen)
	}
	n := m.seen[key]
	m.seen[key] = n + 1
	return n
}

func newIDMaker(eventType string, header []string) *idMaker {
	m := &idMaker{eventType: eventType, reqIdx: -1, tsIdx: -1, orgIdx: -1, names: header, seen: map[[16]byte]uint32{}}
	for i, h := range header {
		switch h {
		case "REQUEST_ID":
			m.reqIdx = i
		case "TIMESTAMP":
			m.tsIdx = i
		case "ORGANIZATION_ID":
			m.orgIdx = i
		}
	}
	m.sorted = make([]int, len(header))
	for i := range m.sorted {
		m.sorted[i] = i
	}
	sort.SliceStable(m.sorted, func(a, b int) bool { return header[m.sorted[a]] < header[m.sorted[b]] })
	return m
}

func field(fields [][]byte, i int) []byte {
	if i < 0 || i >= len(fields) {
		return nil
	}
	return fields[i]
}

// next computes the id of a row into dst (32 hex characters).
func (m *idMaker) next(dst *[32]byte, fields [][]byte) {
	b := m.buf[:0]
	if req := field(fields, m.reqIdx); len(req) > 0 {
		b = append(b, idPrefixRequest...)
		b = append(b, 0)
		b = append(b, m.eventType...)
		b = append(b, 0)
		b = append(b, field(fields, m.orgIdx)...)
		b = append(b, 0)
		b = append(b, field(fields, m.tsIdx)...)
		b = append(b, 0)
		b = append(b, req...)
	} else {
		b = append(b, idPrefixRow...)
		b = append(b, 0)
		b = append(b, m.eventType...)
		for _, i := range m.sorted {
			b = append(b, 0)
			b = append(b, m.names[i]...)
			b = append(b, 0)
			b = append(b, field(fields, i)...)
		}
	}
	sum := sha256.Sum256(b)
	var key [16]byte
	copy(key[:], sum[:16])

	ts := field(fields, m.tsIdx)
	if string(ts) != string(m.lastTS) {
		m.group = m.group[:0]
		clear(m.seen)
		m.lastTS = append(m.lastTS[:0], ts...)
	}
	n := m.repeats(key)
	if n > 0 {
		b = append(b, 0, '#')
		b = strconv.AppendUint(b, uint64(n), 10)
		sum = sha256.Sum256(b)
	}
	m.buf = b
	hex.Encode(dst[:], sum[:16])
}
