package eventlog

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// User is an org user as log rows name it.
type User struct {
	ID       string // 18-character id; USER_ID gets its first 15 characters
	Username string
}

// Event is one recorded event from the org's own activity (a token
// request, a REST call). Values are keyed by column name; EVENT_TYPE,
// TIMESTAMP, TIMESTAMP_DERIVED and ORGANIZATION_ID are filled in, and so
// are USER_ID, USER_ID_DERIVED and USER_NAME from User when set. Columns
// without a value are empty.
type Event struct {
	Time   time.Time
	User   *User
	Values map[string]string
}

// Part is one hour of events: the rows of one hourly file, or one of the
// hours a daily file is made of (the same rows, with the same REQUEST_IDs).
type Part struct {
	Hour   time.Time // start of the hour, UTC
	Seq    int       // the hourly file's Sequence, part of the seed
	Rows   int       // simulated rows
	Events []Event   // recorded events of the hour, in time order
}

// File describes the content of one log file. Its bytes are a pure
// function of the description.
type File struct {
	EventType string
	Version   int    // schema version (release): 0 or 1
	OrgID     string // 18-character organization id; ORGANIZATION_ID gets 15
	Users     []User // the org's users rows are attributed to
	Seed      uint64 // the org's seed
	Parts     []Part
}

// ErrUnknownType is returned for an event type not in the catalog.
var ErrUnknownType = errors.New("eventlog: unknown event type")

// PartSeed is the seed of the rows of one hour and Sequence of a type.
func PartSeed(orgSeed uint64, eventType string, hour time.Time, seq int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(eventType)))
	x := orgSeed ^ h.Sum64()
	x = mix(x ^ uint64(hour.Unix()))
	return mix(x ^ uint64(seq)*0x9e3779b97f4a7c15)
}

// mix is splitmix64's finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rng is wyrand: fast, good enough for synthetic data, and deterministic.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.s, r.s^0xe7037ed1a0b428db)
	return hi ^ lo
}

// below returns a number in [0, n).
func (r *rng) below(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

const alphabet64 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0A"

const (
	flushAt  = 224 << 10
	bufSize  = 256 << 10
	failRate = 4 // percent of rows that record a failure
)

// writer is the state of one generation run.
type writer struct {
	ctx   context.Context
	w     io.Writer
	b     []byte
	n     int64
	cols  []column
	typ   []byte // quoted event type
	org15 []byte
	users []userBytes
	ips   [][]byte
}

type userBytes struct{ id15, id18, name []byte }

func (wr *writer) flush() error {
	if len(wr.b) == 0 {
		return nil
	}
	if err := wr.ctx.Err(); err != nil {
		return err
	}
	k, err := wr.w.Write(wr.b)
	wr.n += int64(k)
	wr.b = wr.b[:0]
	return err
}

// Header returns the CSV header line of a type's schema version.
func (c *Catalog) Header(eventType string, version int) ([]byte, error) {
	t, ok := c.byName[strings.ToLower(eventType)]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownType, eventType)
	}
	var b []byte
	for i, col := range t.columns(version) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendQuoted(b, col.name)
	}
	return append(b, '\n'), nil
}

// Write streams f's CSV to w: a header line, then one line per event;
// every header and value double-quoted, quotes doubled, LF line ends. Memory
// use is constant whatever the file's size.
func (c *Catalog) Write(ctx context.Context, w io.Writer, f *File) (int64, error) {
	wr, err := c.newWriter(ctx, w, f)
	if err != nil {
		return 0, err
	}
	h, _ := c.Header(f.EventType, f.Version)
	wr.b = append(wr.b, h...)
	for i := range f.Parts {
		if err := wr.part(f, &f.Parts[i]); err != nil {
			return wr.n, err
		}
	}
	err = wr.flush()
	return wr.n, err
}

// PartSize returns the byte length of the rows of f.Parts[i]. A file's
// length is its header's plus its parts', so the emulator measures each
// hour once and a daily file costs no second pass.
func (c *Catalog) PartSize(f *File, i int) (int64, error) {
	wr, err := c.newWriter(context.Background(), io.Discard, f)
	if err != nil {
		return 0, err
	}
	if err := wr.part(f, &f.Parts[i]); err != nil {
		return wr.n, err
	}
	err = wr.flush()
	return wr.n, err
}

func (c *Catalog) newWriter(ctx context.Context, w io.Writer, f *File) (*writer, error) {
	t, ok := c.byName[strings.ToLower(f.EventType)]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownType, f.EventType)
	}
	wr := &writer{ctx: ctx, w: w, b: make([]byte, 0, bufSize), cols: t.columns(f.Version)}
	wr.typ = quote(t.name)
	wr.org15 = quote(short(f.OrgID))
	for _, u := range f.Users {
		wr.users = append(wr.users, userBytes{id15: quote(short(u.ID)), id18: quote(u.ID), name: quote(u.Username)})
	}
	if len(wr.users) == 0 {
		wr.users = []userBytes{{id15: []byte(`""`), id18: []byte(`""`), name: []byte(`""`)}}
	}
	for _, p := range []string{"203.0.113.", "198.51.100.", "192.0.2.", "100.64.12.", "172.16.4."} {
		wr.ips = append(wr.ips, []byte(`"`+p))
	}
	return wr, nil
}

// Size returns the byte length of f's CSV (LogFileLength), by generating it
// once without keeping it.
func (c *Catalog) Size(f *File) (int64, error) {
	return c.Write(context.Background(), io.Discard, f)
}

func short(id string) string {
	if len(id) > 15 {
		return id[:15]
	}
	return id
}

// hourStamps holds the fixed prefixes of an hour's timestamps.
type hourStamps struct {
	compact []byte // yyyyMMddHH
	iso     []byte // yyyy-MM-ddTHH:
}

func stampsOf(h time.Time) hourStamps {
	h = h.UTC()
	return hourStamps{compact: []byte(h.Format("2006010215")), iso: []byte(h.Format("2006-01-02T15:"))}
}

func two(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
func three(b []byte, v int) []byte {
	return append(b, byte('0'+v/100), byte('0'+v/10%10), byte('0'+v%10))
}

func (wr *writer) part(f *File, p *Part) error {
	seed := PartSeed(f.Seed, f.EventType, p.Hour, p.Seq)
	r := rng{s: seed}
	st := stampsOf(p.Hour)
	// The part's REQUEST_ID prefix: 11 characters from the seed, then the
	// row number; unique across files and types.
	var rid [12]byte
	rid[0] = '4'
	for i, x := 1, seed; i < 12; i, x = i+1, x>>6 {
		rid[i] = alphabet64[x&63]
	}
	hourMS := p.Hour.UnixMilli()
	ev := 0
	step := 0
	if p.Rows > 0 {
		step = max(3600000/p.Rows, 1)
	}
	for i := 0; i < p.Rows; i++ {
		off := min(i*step+r.below(step), 3599999)
		for ev < len(p.Events) && p.Events[ev].Time.UnixMilli()-hourMS <= int64(off) {
			wr.event(f, &p.Events[ev], st, hourMS)
			ev++
		}
		wr.row(&r, st, off, rid[:], i)
		if len(wr.b) >= flushAt {
			if err := wr.flush(); err != nil {
				return err
			}
		}
	}
	for ; ev < len(p.Events); ev++ {
		wr.event(f, &p.Events[ev], st, hourMS)
		if len(wr.b) >= flushAt {
			if err := wr.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (wr *writer) stamp(st hourStamps, off int, iso bool) {
	mm, ss, ms := off/60000, off/1000%60, off%1000
	b := append(wr.b, '"')
	if iso {
		b = append(b, st.iso...)
		b = two(b, mm)
		b = append(b, ':')
		b = two(b, ss)
		b = append(b, '.')
		b = three(b, ms)
		b = append(b, 'Z', '"')
	} else {
		b = append(b, st.compact...)
		b = two(b, mm)
		b = two(b, ss)
		b = append(b, '.')
		b = three(b, ms)
		b = append(b, '"')
	}
	wr.b = b
}

// row appends one simulated row.
func (wr *writer) row(r *rng, st hourStamps, off int, rid []byte, n int) {
	x := r.next()
	u := &wr.users[int((x&0xffffffff)*uint64(len(wr.users))>>32)]
	failed := (x>>32)%100 < failRate
	for ci := range wr.cols {
		col := &wr.cols[ci]
		if ci > 0 {
			wr.b = append(wr.b, ',')
		}
		switch col.k {
		case kEventType:
			wr.b = append(wr.b, wr.typ...)
		case kTimestamp:
			wr.stamp(st, off, false)
		case kTimestampDerived:
			if (x>>40)&255 == 0 { // now and then empty, as in Salesforce's own samples
				wr.b = append(wr.b, '"', '"')
			} else {
				wr.stamp(st, off, true)
			}
		case kRequestID:
			wr.b = append(wr.b, '"')
			wr.b = append(wr.b, rid...)
			for k, v := 0, n; k < 6; k, v = k+1, v/62 {
				wr.b = append(wr.b, alphabet64[v%62])
			}
			wr.b = append(wr.b, '"')
		case kOrgID:
			wr.b = append(wr.b, wr.org15...)
		case kUserID:
			wr.b = append(wr.b, u.id15...)
		case kUserIDDerived:
			wr.b = append(wr.b, u.id18...)
		case kUserName:
			wr.b = append(wr.b, u.name...)
		case kClientIP, kSourceIP:
			y := r.next()
			if col.k == kClientIP && y&15 == 0 {
				wr.b = append(wr.b, `"Salesforce.com IP"`...)
				continue
			}
			wr.b = append(wr.b, wr.ips[int((y>>8&0xffff)*uint64(len(wr.ips))>>16)]...)
			wr.b = strconv.AppendUint(wr.b, 1+(y>>32)%254, 10)
			wr.b = append(wr.b, '"')
		case kPool:
			wr.b = append(wr.b, col.pool[r.below(len(col.pool))]...)
		case kOutcome:
			if failed {
				wr.b = append(wr.b, col.fail[r.below(len(col.fail))]...)
			} else {
				wr.b = append(wr.b, col.pool[r.below(len(col.pool))]...)
			}
		case kInt:
			wr.b = append(wr.b, '"')
			wr.b = strconv.AppendInt(wr.b, col.lo+int64(r.below(int(col.hi-col.lo+1))), 10)
			wr.b = append(wr.b, '"')
		case kID:
			y := r.next()
			wr.b = append(wr.b, '"')
			wr.b = append(wr.b, col.prefix...)
			wr.b = append(wr.b, 'x', 'x', '0')
			for k := 0; k < 9; k++ {
				wr.b = append(wr.b, alphabet64[(y>>(6*k))%62])
			}
			wr.b = append(wr.b, '"')
		case kKey:
			y := r.next()
			wr.b = append(wr.b, '"')
			for k := 0; k < 10; k++ {
				wr.b = append(wr.b, alphabet64[(y>>(6*k))&63])
			}
			y = r.next()
			for k := 0; k < 6; k++ {
				wr.b = append(wr.b, alphabet64[(y>>(6*k))&63])
			}
			wr.b = append(wr.b, '"')
		default:
			wr.b = append(wr.b, '"', '"')
		}
	}
	wr.b = append(wr.b, '\n')
}

// event appends one recorded event.
func (wr *writer) event(f *File, e *Event, st hourStamps, hourMS int64) {
	off := int(min(max(e.Time.UnixMilli()-hourMS, 0), 3599999))
	for ci := range wr.cols {
		col := &wr.cols[ci]
		if ci > 0 {
			wr.b = append(wr.b, ',')
		}
		if v, ok := e.Values[col.name]; ok {
			wr.b = appendQuoted(wr.b, v)
			continue
		}
		switch col.k {
		case kEventType:
			wr.b = append(wr.b, wr.typ...)
		case kTimestamp:
			wr.stamp(st, off, false)
		case kTimestampDerived:
			wr.stamp(st, off, true)
		case kOrgID:
			wr.b = append(wr.b, wr.org15...)
		case kUserID, kUserIDDerived, kUserName:
			if e.User == nil {
				wr.b = append(wr.b, '"', '"')
				continue
			}
			switch col.k {
			case kUserID:
				wr.b = appendQuoted(wr.b, short(e.User.ID))
			case kUserIDDerived:
				wr.b = appendQuoted(wr.b, e.User.ID)
			default:
				wr.b = appendQuoted(wr.b, e.User.Username)
			}
		default:
			wr.b = append(wr.b, '"', '"')
		}
	}
	wr.b = append(wr.b, '\n')
}
