package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/sfbridge/sfbridge/internal/clock"
)

// sqlStore implements Store over either engine.
type sqlStore struct {
	db    backend
	d     dialect
	clock clock.Clock
	opts  Options
}

func (s *sqlStore) Engine() string { return s.d.engine }

func (s *sqlStore) Close() error { return s.db.close() }

func (s *sqlStore) now() time.Time { return s.clock.Now() }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// write runs fn in a write transaction, with the BeforeCommit hook last.
func (s *sqlStore) write(ctx context.Context, fn func(q querier) error) error {
	return s.tx(ctx, false, fn)
}

// writeReplayable is write for data a pipeline re-creates by replaying
// (checkpoints, documents, dedupe, outbox): the engine may acknowledge
// the commit before it is flushed (see dialect.strictCommit). Leases,
// secrets and resets always use write.
func (s *sqlStore) writeReplayable(ctx context.Context, fn func(q querier) error) error {
	return s.tx(ctx, true, fn)
}

func (s *sqlStore) tx(ctx context.Context, replayable bool, fn func(q querier) error) error {
	return s.db.inTx(ctx, func(q querier) error {
		if !replayable && s.d.strictCommit != "" {
			if _, err := q.exec(ctx, s.d.strictCommit); err != nil {
				return err
			}
		}
		if err := fn(q); err != nil {
			return err
		}
		if s.opts.BeforeCommit != nil {
			return s.opts.BeforeCommit(ctx)
		}
		return nil
	})
}

func validKey(k CheckpointKey) error {
	if k.Org == "" || k.Pipeline == "" || k.Key == "" {
		return &InvalidError{What: "checkpoint key", Reason: fmt.Sprintf("org, pipeline and key must all be set (got %q/%q/%q)", k.Org, k.Pipeline, k.Key)}
	}
	return nil
}

const checkpointCols = "org, pipeline, key, value, version, token, updated_at"

func scanCheckpoint(sc scanner) (Checkpoint, error) {
	var c Checkpoint
	var updated int64
	if err := sc.Scan(&c.Org, &c.Pipeline, &c.Key, &c.Value, &c.Version, &c.Token, &updated); err != nil {
		return Checkpoint{}, err
	}
	c.UpdatedAt = fromMS(updated)
	return c, nil
}

func (s *sqlStore) Checkpoint(ctx context.Context, key CheckpointKey) (Checkpoint, error) {
	c, err := scanCheckpoint(s.db.queryRow(ctx, "SELECT "+checkpointCols+" FROM checkpoints WHERE org = $1 AND pipeline = $2 AND key = $3",
		key.Org, key.Pipeline, key.Key))
	if errors.Is(err, errNoRows) {
		return Checkpoint{}, fmt.Errorf("checkpoint %s/%s/%s: %w", key.Org, key.Pipeline, key.Key, ErrNotFound)
	}
	return c, err
}

func (s *sqlStore) Checkpoints(ctx context.Context, org string) ([]Checkpoint, error) {
	rs, err := s.db.query(ctx, "SELECT "+checkpointCols+" FROM checkpoints WHERE ($1 = '' OR org = $1) ORDER BY org, pipeline, key", org)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []Checkpoint
	for rs.Next() {
		c, err := scanCheckpoint(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rs.Err()
}

// checkFence refuses a write unless the fence's lease is live with its token.
func (s *sqlStore) checkFence(ctx context.Context, q querier, f Fence) error {
	if f.Lease == "" || f.Token <= 0 {
		return &InvalidError{What: "fence", Reason: "every checkpoint write must carry the lease it is made under and its fencing token (state.FenceOf(lease))"}
	}
	cur, err := s.readLease(ctx, q, f.Lease, s.d.lockLeaseShare)
	if errors.Is(err, errNoRows) {
		return &FencedError{Lease: f.Lease, Token: f.Token, Reason: "the lease does not exist"}
	}
	if err != nil {
		return err
	}
	now := s.now()
	switch {
	case cur.Token != f.Token:
		return &FencedError{Lease: f.Lease, Token: f.Token, Current: cur, Reason: fmt.Sprintf("the lease is now at token %d (owner %q)", cur.Token, cur.Owner)}
	case !cur.Live(now):
		return &FencedError{Lease: f.Lease, Token: f.Token, Current: cur, Reason: "the lease expired or was released"}
	}
	return nil
}

func (s *sqlStore) Commit(ctx context.Context, c Commit) (Checkpoint, error) {
	if err := validKey(c.Key); err != nil {
		return Checkpoint{}, err
	}
	if c.Expect < 0 {
		return Checkpoint{}, &InvalidError{What: "commit", Reason: "Expect is a version (0 for a new checkpoint), never negative"}
	}
	for _, o := range c.Outbox {
		if o.Topic == "" {
			return Checkpoint{}, &InvalidError{What: "outbox record", Reason: "topic is empty"}
		}
	}
	if err := validDocuments(c.Documents); err != nil {
		return Checkpoint{}, err
	}
	for _, d := range c.Deletes {
		if d.Org == "" || d.Kind == "" || d.ID == "" {
			return Checkpoint{}, &InvalidError{What: "document to delete", Reason: fmt.Sprintf("org, kind and id must all be set (got %q/%q/%q)", d.Org, d.Kind, d.ID)}
		}
	}
	now := s.now()
	out := Checkpoint{CheckpointKey: c.Key, Value: nonNil(c.Value), Version: c.Expect + 1, Token: c.Fence.Token, UpdatedAt: fromMS(ms(now))}
	if c.Fence.Lease == "" || c.Fence.Token <= 0 {
		return Checkpoint{}, s.checkFence(ctx, s.db, c.Fence)
	}
	// One statement checks the fence and compare-and-sets; only when it
	// writes nothing do we look at why.
	cas := func(q querier) error {
		fence := "WITH fence AS (SELECT 1 FROM leases WHERE name = $1 AND token = $2 AND expires_at > $3" + s.d.lockLeaseShare + ") "
		var n int64
		var err error
		if c.Expect == 0 {
			n, err = q.exec(ctx, fence+"INSERT INTO checkpoints ("+checkpointCols+") SELECT $4, $5, $6, $7, 1, $2, $3 WHERE EXISTS (SELECT 1 FROM fence) ON CONFLICT (org, pipeline, key) DO NOTHING",
				c.Fence.Lease, c.Fence.Token, ms(now), c.Key.Org, c.Key.Pipeline, c.Key.Key, out.Value)
		} else {
			n, err = q.exec(ctx, fence+"UPDATE checkpoints SET value = $4, version = version + 1, token = $2, updated_at = $3 WHERE org = $5 AND pipeline = $6 AND key = $7 AND version = $8 AND EXISTS (SELECT 1 FROM fence)",
				c.Fence.Lease, c.Fence.Token, ms(now), out.Value, c.Key.Org, c.Key.Pipeline, c.Key.Key, c.Expect)
		}
		if err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
		if err := s.checkFence(ctx, q, c.Fence); err != nil {
			return err
		}
		var actual int64
		err = q.queryRow(ctx, "SELECT version FROM checkpoints WHERE org = $1 AND pipeline = $2 AND key = $3", c.Key.Org, c.Key.Pipeline, c.Key.Key).Scan(&actual)
		if err != nil && !errors.Is(err, errNoRows) {
			return err
		}
		return &ConflictError{Key: c.Key, Expected: c.Expect, Actual: actual}
	}
	if len(c.Documents) == 0 && len(c.Outbox) == 0 && len(c.Deletes) == 0 && s.opts.BeforeCommit == nil {
		// A lone checkpoint is one statement: atomic without a
		// transaction, and one round trip instead of three.
		if err := cas(s.db); err != nil {
			return Checkpoint{}, err
		}
		return out, nil
	}
	err := s.writeReplayable(ctx, func(q querier) error {
		if err := cas(q); err != nil {
			return err
		}
		if err := s.putDocuments(ctx, q, c.Documents, now); err != nil {
			return err
		}
		for _, g := range groupRefs(c.Deletes) {
			if _, err := deleteDocuments(ctx, q, g[0].Org, g[0].Kind, refIDs(g)); err != nil {
				return err
			}
		}
		for _, o := range c.Outbox {
			org := o.Org
			if org == "" {
				org = c.Key.Org
			}
			if _, err := q.exec(ctx, "INSERT INTO outbox (org, topic, payload, created_at) VALUES ($1, $2, $3, $4)", org, o.Topic, nonNil(o.Payload), ms(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Checkpoint{}, err
	}
	return out, nil
}

func (s *sqlStore) DeleteCheckpoints(ctx context.Context, org, pipeline string) (int, error) {
	if org == "" || pipeline == "" {
		return 0, &InvalidError{What: "delete", Reason: "org and pipeline must both be set"}
	}
	var n int64
	err := s.write(ctx, func(q querier) error {
		var err error
		n, err = q.exec(ctx, "DELETE FROM checkpoints WHERE org = $1 AND pipeline = $2", org, pipeline)
		return err
	})
	return int(n), err
}

func validDocuments(docs []Document) error {
	for _, d := range docs {
		if d.Org == "" || d.Kind == "" || d.ID == "" {
			return &InvalidError{What: "document", Reason: fmt.Sprintf("org, kind and id must all be set (got %q/%q/%q)", d.Org, d.Kind, d.ID)}
		}
	}
	return nil
}

// docBatch bounds the rows of one upsert statement (PostgreSQL takes at
// most 65,535 arguments, SQLite 32,766).
const docBatch = 500

func (s *sqlStore) putDocuments(ctx context.Context, q querier, docs []Document, now time.Time) error {
	// One statement may not upsert the same row twice: the last one wins.
	last := make(map[[3]string]int, len(docs))
	for i, d := range docs {
		last[[3]string{d.Org, d.Kind, d.ID}] = i
	}
	var stmt strings.Builder
	args := make([]any, 0, 10*min(len(docs), docBatch))
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		stmt.WriteString(s.d.docConflict)
		_, err := q.exec(ctx, stmt.String(), args...)
		stmt.Reset()
		args = args[:0]
		if err != nil {
			return fmt.Errorf("state: upsert documents: %w", err)
		}
		return nil
	}
	rows := 0
	for i, d := range docs {
		if last[[3]string{d.Org, d.Kind, d.ID}] != i {
			continue
		}
		if rows == 0 {
			stmt.WriteString(s.d.docInsert)
		} else {
			stmt.WriteString(", ")
		}
		stmt.WriteString(s.d.docRow(len(args) + 1))
		args = append(args, d.Org, d.Kind, d.ID, d.Version, d.Lang, d.Title, d.Body, nonNil(d.Data), ms(now))
		if s.d.docConfigArg {
			args = append(args, tsConfig(d.Lang))
		}
		if rows++; rows == docBatch {
			if err := flush(); err != nil {
				return err
			}
			rows = 0
		}
	}
	return flush()
}

func (s *sqlStore) PutDocuments(ctx context.Context, docs []Document) error {
	if err := validDocuments(docs); err != nil {
		return err
	}
	if len(docs) == 0 {
		return nil
	}
	now := s.now()
	return s.writeReplayable(ctx, func(q querier) error { return s.putDocuments(ctx, q, docs, now) })
}

func (s *sqlStore) Document(ctx context.Context, org, kind, id string) (Document, error) {
	var d Document
	var updated int64
	err := s.db.queryRow(ctx, "SELECT org, kind, id, version, lang, title, body, data, updated_at FROM documents WHERE org = $1 AND kind = $2 AND id = $3", org, kind, id).
		Scan(&d.Org, &d.Kind, &d.ID, &d.Version, &d.Lang, &d.Title, &d.Body, &d.Data, &updated)
	if errors.Is(err, errNoRows) {
		return Document{}, fmt.Errorf("document %s/%s/%s: %w", org, kind, id, ErrNotFound)
	}
	d.UpdatedAt = fromMS(updated)
	return d, err
}

func (s *sqlStore) Documents(ctx context.Context, dq DocumentQuery) ([]Document, error) {
	if dq.Org == "" || dq.Kind == "" {
		return nil, &InvalidError{What: "documents", Reason: "org and kind must both be set"}
	}
	if dq.Limit <= 0 {
		dq.Limit = 100
	}
	dq.Limit = min(dq.Limit, 1000)
	rs, err := s.db.query(ctx, "SELECT org, kind, id, version, lang, title, body, data, updated_at FROM documents WHERE org = $1 AND kind = $2 AND id > $3 ORDER BY id LIMIT $4",
		dq.Org, dq.Kind, dq.After, dq.Limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []Document
	for rs.Next() {
		var d Document
		var updated int64
		if err := rs.Scan(&d.Org, &d.Kind, &d.ID, &d.Version, &d.Lang, &d.Title, &d.Body, &d.Data, &updated); err != nil {
			return nil, err
		}
		d.UpdatedAt = fromMS(updated)
		out = append(out, d)
	}
	return out, rs.Err()
}

func (s *sqlStore) DeleteDocuments(ctx context.Context, org, kind string, ids []string) (int, error) {
	var total int64
	err := s.writeReplayable(ctx, func(q querier) error {
		var err error
		total, err = deleteDocuments(ctx, q, org, kind, ids)
		return err
	})
	return int(total), err
}

// deleteDocuments removes documents of (org, kind) by id, a statement per
// docBatch ids, and reports how many existed.
func deleteDocuments(ctx context.Context, q querier, org, kind string, ids []string) (int64, error) {
	var total int64
	for batch := range slices.Chunk(ids, docBatch) {
		args := []any{org, kind}
		for _, id := range batch {
			args = append(args, id)
		}
		n, err := q.exec(ctx, "DELETE FROM documents WHERE org = $1 AND kind = $2 AND id IN ("+bindParams(3, len(batch))+")", args...)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// groupRefs groups document references by (org, kind), in first-seen
// order.
func groupRefs(refs []DocumentRef) [][]DocumentRef {
	var groups [][]DocumentRef
	at := map[[2]string]int{}
	for _, r := range refs {
		k := [2]string{r.Org, r.Kind}
		i, ok := at[k]
		if !ok {
			i = len(groups)
			at[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	return groups
}

func refIDs(refs []DocumentRef) []string {
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	return ids
}

// searchTerms splits text into words (letters and digits).
func searchTerms(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func (s *sqlStore) Search(ctx context.Context, sq SearchQuery) ([]SearchHit, error) {
	if sq.Org == "" || sq.Kind == "" {
		return nil, &InvalidError{What: "search", Reason: "org and kind must both be set"}
	}
	if sq.Limit <= 0 {
		sq.Limit = 20
	}
	terms := searchTerms(sq.Text)
	if len(terms) == 0 {
		return nil, nil
	}
	stmt, args := s.d.search(sq, terms)
	rs, err := s.db.query(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("state: search: %w", err)
	}
	defer rs.Close()
	var hits []SearchHit
	for rs.Next() {
		var h SearchHit
		dst := []any{&h.ID, &h.Title, &h.Lang, &h.Score}
		if sq.WithData {
			dst = []any{&h.ID, &h.Title, &h.Lang, &h.Data, &h.Score}
		}
		if err := rs.Scan(dst...); err != nil {
			return nil, err
		}
		hits = append(hits, h)
	}
	return hits, rs.Err()
}

func (s *sqlStore) MarkSeen(ctx context.Context, org, scope string, ids []string, ttl time.Duration) ([]string, error) {
	if ttl <= 0 {
		return nil, &InvalidError{What: "dedupe ttl", Reason: "must be positive"}
	}
	now := s.now()
	// Each id once, in the caller's order; one statement per batch
	// inserts the new ones, revives the expired ones and returns both.
	unique := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	fresh := make(map[string]bool, len(unique))
	err := s.writeReplayable(ctx, func(q querier) error {
		clear(fresh)
		for start := 0; start < len(unique); start += docBatch {
			batch := unique[start:min(start+docBatch, len(unique))]
			var stmt strings.Builder
			stmt.WriteString("INSERT INTO seen (org, scope, id, expires_at) VALUES ")
			args := []any{org, scope, ms(now.Add(ttl)), ms(now)}
			for i, id := range batch {
				if i > 0 {
					stmt.WriteString(", ")
				}
				fmt.Fprintf(&stmt, "($1, $2, $%d, $3)", len(args)+1)
				args = append(args, id)
			}
			stmt.WriteString(" ON CONFLICT (org, scope, id) DO UPDATE SET expires_at = excluded.expires_at WHERE seen.expires_at <= $4 RETURNING id")
			rs, err := q.query(ctx, stmt.String(), args...)
			if err != nil {
				return err
			}
			for rs.Next() {
				var id string
				if err := rs.Scan(&id); err != nil {
					rs.Close()
					return err
				}
				fresh[id] = true
			}
			err = rs.Err()
			rs.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(fresh))
	for _, id := range unique {
		if fresh[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

func (s *sqlStore) PurgeSeen(ctx context.Context) (int, error) {
	var n int64
	err := s.writeReplayable(ctx, func(q querier) error {
		var err error
		n, err = q.exec(ctx, "DELETE FROM seen WHERE expires_at <= $1", ms(s.now()))
		return err
	})
	return int(n), err
}

func (s *sqlStore) Outbox(ctx context.Context, oq OutboxQuery) ([]OutboxRecord, error) {
	if oq.Limit <= 0 {
		oq.Limit = 100
	}
	rs, err := s.db.query(ctx, "SELECT seq, org, topic, payload, created_at FROM outbox WHERE org = $1 AND topic = $2 AND seq > $3 ORDER BY seq LIMIT $4",
		oq.Org, oq.Topic, oq.After, oq.Limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []OutboxRecord
	for rs.Next() {
		var o OutboxRecord
		var created int64
		if err := rs.Scan(&o.Seq, &o.Org, &o.Topic, &o.Payload, &created); err != nil {
			return nil, err
		}
		o.CreatedAt = fromMS(created)
		out = append(out, o)
	}
	return out, rs.Err()
}

func (s *sqlStore) AckOutbox(ctx context.Context, seqs ...int64) (int, error) {
	var total int64
	err := s.writeReplayable(ctx, func(q querier) error {
		total = 0
		for start := 0; start < len(seqs); start += docBatch {
			batch := seqs[start:min(start+docBatch, len(seqs))]
			args := make([]any, len(batch))
			for i, seq := range batch {
				args[i] = seq
			}
			n, err := q.exec(ctx, "DELETE FROM outbox WHERE seq IN ("+bindParams(1, len(batch))+")", args...)
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return int(total), err
}

// bindParams returns the numbered bind parameters "$first, $first+1, …" for n arguments.
func bindParams(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", first+i)
	}
	return b.String()
}

func (s *sqlStore) readLease(ctx context.Context, q querier, name, lock string) (Lease, error) {
	var l Lease
	var exp int64
	err := q.queryRow(ctx, "SELECT name, owner, token, expires_at FROM leases WHERE name = $1"+lock, name).Scan(&l.Name, &l.Owner, &l.Token, &exp)
	l.ExpiresAt = fromMS(exp)
	return l, err
}

func validLease(name, owner string, ttl time.Duration) error {
	switch {
	case name == "":
		return &InvalidError{What: "lease", Reason: "the name is empty"}
	case owner == "":
		return &InvalidError{What: "lease", Reason: "the owner is empty"}
	case ttl < time.Millisecond:
		return &InvalidError{What: "lease ttl", Reason: "must be at least 1ms"}
	}
	return nil
}

func (s *sqlStore) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error) {
	if err := validLease(name, owner, ttl); err != nil {
		return Lease{}, err
	}
	var got Lease
	err := s.write(ctx, func(q querier) error {
		if _, err := q.exec(ctx, "INSERT INTO leases (name, owner, token, expires_at) VALUES ($1, '', 0, 0) ON CONFLICT (name) DO NOTHING", name); err != nil {
			return err
		}
		cur, err := s.readLease(ctx, q, name, s.d.lockLease)
		if err != nil {
			return err
		}
		now := s.now()
		exp := ms(now.Add(ttl))
		switch {
		case cur.Live(now) && cur.Owner == owner:
			// The holder extends its own tenure: same token.
		case cur.Live(now):
			return &LeaseHeldError{Name: name, Owner: cur.Owner, ExpiresAt: cur.ExpiresAt}
		default:
			cur.Token++
		}
		if _, err := q.exec(ctx, "UPDATE leases SET owner = $1, token = $2, expires_at = $3 WHERE name = $4", owner, cur.Token, exp, name); err != nil {
			return err
		}
		got = Lease{Name: name, Owner: owner, Token: cur.Token, ExpiresAt: fromMS(exp)}
		return nil
	})
	return got, err
}

func (s *sqlStore) RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	if err := validLease(l.Name, l.Owner, ttl); err != nil {
		return Lease{}, err
	}
	var got Lease
	err := s.write(ctx, func(q querier) error {
		now := s.now()
		exp := ms(now.Add(ttl))
		n, err := q.exec(ctx, "UPDATE leases SET expires_at = $1 WHERE name = $2 AND owner = $3 AND token = $4 AND expires_at > $5",
			exp, l.Name, l.Owner, l.Token, ms(now))
		if err != nil {
			return err
		}
		if n != 1 {
			cur, err := s.readLease(ctx, q, l.Name, "")
			if err != nil && !errors.Is(err, errNoRows) {
				return err
			}
			return &LeaseLostError{Lease: l, Current: cur}
		}
		got = l
		got.ExpiresAt = fromMS(exp)
		return nil
	})
	return got, err
}

func (s *sqlStore) ReleaseLease(ctx context.Context, l Lease) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.exec(ctx, "UPDATE leases SET owner = '', expires_at = 0 WHERE name = $1 AND owner = $2 AND token = $3", l.Name, l.Owner, l.Token)
		return err
	})
}

func (s *sqlStore) DeleteLease(ctx context.Context, name string) (bool, error) {
	if name == "" {
		return false, &InvalidError{What: "lease", Reason: "the name is empty"}
	}
	var deleted bool
	err := s.write(ctx, func(q querier) error {
		now := s.now()
		n, err := q.exec(ctx, "DELETE FROM leases WHERE name = $1 AND (owner = '' OR expires_at <= $2)", name, ms(now))
		if err != nil {
			return err
		}
		if n == 1 {
			deleted = true
			return nil
		}
		cur, err := s.readLease(ctx, q, name, "")
		if errors.Is(err, errNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return &LeaseHeldError{Name: name, Owner: cur.Owner, ExpiresAt: cur.ExpiresAt}
	})
	return deleted, err
}

func (s *sqlStore) Leases(ctx context.Context) ([]Lease, error) {
	rs, err := s.db.query(ctx, "SELECT name, owner, token, expires_at FROM leases ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []Lease
	for rs.Next() {
		var l Lease
		var exp int64
		if err := rs.Scan(&l.Name, &l.Owner, &l.Token, &exp); err != nil {
			return nil, err
		}
		l.ExpiresAt = fromMS(exp)
		out = append(out, l)
	}
	return out, rs.Err()
}

const secretCols = "org, kind, key_id, wrapped_key, ciphertext, fingerprint, updated_at"

func scanSecret(sc scanner) (SealedSecret, error) {
	var s SealedSecret
	var updated int64
	err := sc.Scan(&s.Org, &s.Kind, &s.KeyID, &s.WrappedKey, &s.Ciphertext, &s.Fingerprint, &updated)
	s.UpdatedAt = fromMS(updated)
	return s, err
}

func (s *sqlStore) PutSecret(ctx context.Context, sec SealedSecret) error {
	if sec.Org == "" || sec.Kind == "" || sec.KeyID == "" || len(sec.WrappedKey) == 0 || len(sec.Ciphertext) == 0 {
		return &InvalidError{What: "sealed secret", Reason: "org, kind, key id, wrapped key and ciphertext must all be set (seal it with a state.Keyring)"}
	}
	now := s.now()
	return s.write(ctx, func(q querier) error {
		_, err := q.exec(ctx, "INSERT INTO secrets ("+secretCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (org, kind) DO UPDATE SET key_id = excluded.key_id, wrapped_key = excluded.wrapped_key, ciphertext = excluded.ciphertext, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
			sec.Org, sec.Kind, sec.KeyID, sec.WrappedKey, sec.Ciphertext, sec.Fingerprint, ms(now))
		return err
	})
}

func (s *sqlStore) Secret(ctx context.Context, org, kind string) (SealedSecret, error) {
	sec, err := scanSecret(s.db.queryRow(ctx, "SELECT "+secretCols+" FROM secrets WHERE org = $1 AND kind = $2", org, kind))
	if errors.Is(err, errNoRows) {
		return SealedSecret{}, fmt.Errorf("secret %s/%s: %w", org, kind, ErrNotFound)
	}
	return sec, err
}

func (s *sqlStore) Secrets(ctx context.Context) ([]SealedSecret, error) {
	rs, err := s.db.query(ctx, "SELECT "+secretCols+" FROM secrets ORDER BY org, kind")
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []SealedSecret
	for rs.Next() {
		sec, err := scanSecret(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	return out, rs.Err()
}

func (s *sqlStore) ResealSecret(ctx context.Context, fromKeyID string, sec SealedSecret) (bool, error) {
	var n int64
	err := s.write(ctx, func(q querier) error {
		var err error
		n, err = q.exec(ctx, "UPDATE secrets SET key_id = $1, wrapped_key = $2, ciphertext = $3, updated_at = $4 WHERE org = $5 AND kind = $6 AND key_id = $7",
			sec.KeyID, sec.WrappedKey, sec.Ciphertext, ms(s.now()), sec.Org, sec.Kind, fromKeyID)
		return err
	})
	return n == 1, err
}

func (s *sqlStore) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	for _, part := range []struct {
		q   string
		dst *[]Count
	}{
		{"SELECT org, kind, COUNT(*) FROM documents GROUP BY org, kind ORDER BY org, kind", &st.Documents},
		{"SELECT org, topic, COUNT(*) FROM outbox GROUP BY org, topic ORDER BY org, topic", &st.Outbox},
		{"SELECT org, scope, COUNT(*) FROM seen GROUP BY org, scope ORDER BY org, scope", &st.Seen},
	} {
		rs, err := s.db.query(ctx, part.q)
		if err != nil {
			return Stats{}, err
		}
		for rs.Next() {
			var c Count
			if err := rs.Scan(&c.Org, &c.Name, &c.Count); err != nil {
				rs.Close()
				return Stats{}, err
			}
			*part.dst = append(*part.dst, c)
		}
		err = rs.Err()
		rs.Close()
		if err != nil {
			return Stats{}, err
		}
	}
	return st, nil
}
