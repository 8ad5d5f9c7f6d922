package emulator

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// session is an issued access token. Salesforce sessions time out after a
// period of inactivity: every API call moves lastUsed forward.
type session struct {
	token    string
	userID   sfid.ID
	appKey   string
	appName  string
	scope    string
	issued   time.Time
	timeout  time.Duration
	lastUsed atomic.Int64 // org clock, Unix nanoseconds
	revoked  atomic.Bool
	expired  atomic.Bool // forced by a fault or the admin API
}

func (s *session) expiry() time.Time { return time.Unix(0, s.lastUsed.Load()).Add(s.timeout) }

// state says whether the session may be used at now.
func (s *session) state(now time.Time) string {
	switch {
	case s.revoked.Load():
		return "revoked"
	case s.expired.Load() || !now.Before(s.expiry()):
		return "expired"
	default:
		return ""
	}
}

// touch records use at now (inactivity timeout).
func (s *session) touch(now time.Time) { s.lastUsed.Store(now.UnixNano()) }

// sessionStore maps access tokens to sessions. Lookups are lock-free.
type sessionStore struct {
	m      sync.Map // token → *session
	grants atomic.Int64
}

func (st *sessionStore) add(s *session, now time.Time) {
	st.m.Store(s.token, s)
	if st.grants.Add(1)%1024 == 0 {
		st.sweep(now)
	}
}

// get returns the session for token, whatever its state.
func (st *sessionStore) get(token string) (*session, bool) {
	v, ok := st.m.Load(token)
	if !ok {
		return nil, false
	}
	return v.(*session), true
}

// sweep drops sessions that can no longer be used.
func (st *sessionStore) sweep(now time.Time) {
	st.m.Range(func(k, v any) bool {
		s := v.(*session)
		if s.revoked.Load() || now.Sub(s.expiry()) > time.Hour {
			st.m.Delete(k)
		}
		return true
	})
}

func (st *sessionStore) revokeUser(id sfid.ID) int {
	n := 0
	st.m.Range(func(_, v any) bool {
		s := v.(*session)
		if s.userID == id && !s.revoked.Load() {
			s.revoked.Store(true)
			n++
		}
		return true
	})
	return n
}

func (st *sessionStore) count() int {
	n := 0
	st.m.Range(func(any, any) bool { n++; return true })
	return n
}

// apiUsage counts the org's API requests per UTC day.
type apiUsage struct {
	day   atomic.Int64
	count atomic.Int64
}

// add counts one request; it refuses (ok false) once max is reached.
func (u *apiUsage) add(now time.Time, max int64) (used int64, ok bool) {
	u.roll(now)
	n := u.count.Add(1)
	if n > max {
		u.count.Add(-1)
		return max, false
	}
	return n, true
}

func (u *apiUsage) roll(now time.Time) {
	d := now.Unix() / 86400
	if cur := u.day.Load(); cur != d && u.day.CompareAndSwap(cur, d) {
		u.count.Store(0)
	}
}

func (u *apiUsage) used(now time.Time) int64 {
	u.roll(now)
	return u.count.Load()
}

// loginLimiter enforces Salesforce's logins per user and hour.
type loginLimiter struct {
	max int
	mu  sync.Mutex
	m   map[sfid.ID]*hourCount
}

type hourCount struct {
	hour int64
	n    int
}

func (l *loginLimiter) allow(id sfid.ID, now time.Time) bool {
	h := now.Unix() / 3600
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max < 0 {
		return true
	}
	if l.m == nil {
		l.m = map[sfid.ID]*hourCount{}
	}
	c := l.m[id]
	if c == nil || c.hour != h {
		c = &hourCount{hour: h}
		l.m[id] = c
	}
	if c.n >= l.max {
		return false
	}
	c.n++
	return true
}
