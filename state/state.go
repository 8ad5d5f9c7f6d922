// Package state keeps the durable state of sfbridge's pipelines: checkpoints
// advanced with compare-and-set under a fenced lease, small documents,
// a dedupe window, an outbox written in the same transaction as a
// checkpoint, full-text search over documents, leases with fencing tokens,
// and sealed (envelope-encrypted) secrets.
//
// One contract, [Store], has two engines chosen by a URL (see [ParseURL]):
// SQLite through a pure-Go driver (sqlite:PATH, the embedded default) and
// PostgreSQL through pgx (postgres://…, for replicas that scale out).
// Both apply their embedded, versioned migrations on [Open] and refuse a
// schema written by a newer sfbridge.
package state

import (
	"context"
	"time"
)

// Store is the contract both engines implement. It is safe for concurrent
// use. Every method that does I/O takes a context first.
type Store interface {
	// Engine names the engine: "sqlite" or "postgres".
	Engine() string
	// SchemaVersion is the migration version the database is at.
	SchemaVersion(ctx context.Context) (int, error)

	// Checkpoint reads one checkpoint; a missing one is ErrNotFound.
	Checkpoint(ctx context.Context, key CheckpointKey) (Checkpoint, error)
	// Checkpoints lists the checkpoints of org (all orgs when org is empty).
	Checkpoints(ctx context.Context, org string) ([]Checkpoint, error)
	// Commit advances a checkpoint with compare-and-set under a fenced
	// lease and, in the same transaction, upserts documents and appends
	// outbox records. Nothing is written unless everything is.
	Commit(ctx context.Context, c Commit) (Checkpoint, error)
	// DeleteCheckpoints removes every checkpoint of (org, pipeline) and
	// reports how many there were.
	DeleteCheckpoints(ctx context.Context, org, pipeline string) (int, error)

	// PutDocuments upserts documents in one transaction.
	PutDocuments(ctx context.Context, docs []Document) error
	// Document reads one document; a missing one is ErrNotFound.
	Document(ctx context.Context, org, kind, id string) (Document, error)
	// Documents lists documents of (org, kind) in id order, for paging
	// through them: those after q.After, at most q.Limit.
	Documents(ctx context.Context, q DocumentQuery) ([]Document, error)
	// DeleteDocuments removes documents by id and reports how many existed.
	DeleteDocuments(ctx context.Context, org, kind string, ids []string) (int, error)
	// Search runs a full-text query over the documents' title and body.
	Search(ctx context.Context, q SearchQuery) ([]SearchHit, error)

	// MarkSeen records ids in a dedupe window for ttl and returns the ids
	// that were not already in it (new, or seen before but expired).
	MarkSeen(ctx context.Context, org, scope string, ids []string, ttl time.Duration) ([]string, error)
	// PurgeSeen deletes expired dedupe entries and reports how many.
	PurgeSeen(ctx context.Context) (int, error)

	// Outbox lists undelivered records in sequence order.
	Outbox(ctx context.Context, q OutboxQuery) ([]OutboxRecord, error)
	// AckOutbox removes delivered records and reports how many existed.
	AckOutbox(ctx context.Context, seqs ...int64) (int, error)

	// AcquireLease takes the named lease for owner for ttl. The holder may
	// call it again to extend a live lease (same token); anyone takes an
	// expired or released lease with a larger token. A live lease held by
	// someone else is a *LeaseHeldError.
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error)
	// RenewLease extends a live lease that l still holds; otherwise it
	// returns a *LeaseLostError.
	RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// ReleaseLease gives a held lease up so the next owner need not wait
	// for it to expire. Releasing a lease no longer held is not an error.
	ReleaseLease(ctx context.Context, l Lease) error
	// Leases lists every lease, live or not.
	Leases(ctx context.Context) ([]Lease, error)
	// DeleteLease removes the named lease if it is released or expired and
	// reports whether it existed; a live lease is a *LeaseHeldError. A later
	// AcquireLease of the name starts its tokens at 1 again, so delete a
	// lease only when no write can still be made under a token it gave out:
	// when what it guarded is gone, or every write under it is a
	// compare-and-set that cannot succeed twice.
	DeleteLease(ctx context.Context, name string) (bool, error)

	// PutSecret stores a sealed secret, replacing the one for (org, kind).
	PutSecret(ctx context.Context, s SealedSecret) error
	// Secret reads one sealed secret; a missing one is ErrNotFound.
	Secret(ctx context.Context, org, kind string) (SealedSecret, error)
	// Secrets lists the sealed secrets.
	Secrets(ctx context.Context) ([]SealedSecret, error)
	// ResealSecret replaces a sealed secret only if it is still sealed under
	// the key id fromKeyID; it reports whether it replaced it.
	ResealSecret(ctx context.Context, fromKeyID string, s SealedSecret) (bool, error)

	// Stats counts documents, outbox records and dedupe entries per org.
	Stats(ctx context.Context) (Stats, error)

	// Close releases the database handles.
	Close() error
}

// PipelineLease is the lease name that guards one pipeline of one org;
// `sfbridge state reset` checks it.
func PipelineLease(org, pipeline string) string { return org + "/" + pipeline }

// Count is a number of rows for one org and one name (a document kind, an
// outbox topic or a dedupe scope).
type Count struct {
	Org   string `json:"org"`
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// Stats summarises what a store holds.
type Stats struct {
	Documents []Count `json:"documents"`
	Outbox    []Count `json:"outbox"`
	Seen      []Count `json:"dedupe"`
}

// CheckpointKey names a checkpoint: one position of one pipeline of one
// org (for example the event-log cursor of one event type).
type CheckpointKey struct {
	Org      string `json:"org"`
	Pipeline string `json:"pipeline"`
	Key      string `json:"key"`
}

// Checkpoint is a stored position.
type Checkpoint struct {
	CheckpointKey
	// Value is the pipeline's own encoding of its position.
	Value []byte `json:"value"`
	// Version starts at 1 and grows by one with every commit.
	Version int64 `json:"version"`
	// Token is the fencing token of the lease the last writer held.
	Token     int64     `json:"token"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Fence is the lease a write is made under. The store refuses the write
// (a *FencedError) unless the lease is still live with this token.
type Fence struct {
	Lease string
	Token int64
}

// FenceOf returns the fence of a held lease.
func FenceOf(l Lease) Fence { return Fence{Lease: l.Name, Token: l.Token} }

// Commit is one atomic write: a checkpoint advanced by compare-and-set,
// plus documents and outbox records that go with it.
type Commit struct {
	Key CheckpointKey
	// Expect is the version the writer read: 0 means the checkpoint must
	// not exist yet. A different stored version is a *ConflictError.
	Expect int64
	Value  []byte
	Fence  Fence
	// Documents are upserted in the same transaction.
	Documents []Document
	// Outbox records are appended in the same transaction.
	Outbox []OutboxRecord
	// Deletes are documents removed in the same transaction, after the
	// upserts; ids that do not exist are ignored.
	Deletes []DocumentRef
}

// DocumentRef names one document.
type DocumentRef struct {
	Org  string `json:"org"`
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// DocumentRefs names the documents ids of (org, kind).
func DocumentRefs(org, kind string, ids []string) []DocumentRef {
	refs := make([]DocumentRef, len(ids))
	for i, id := range ids {
		refs[i] = DocumentRef{Org: org, Kind: kind, ID: id}
	}
	return refs
}

// Document is a small record per (org, kind, id), for example the last
// seen version of a case or a knowledge article. Title and Body, when set,
// are indexed for [Store.Search]; Lang selects the language of the index
// (an ISO 639-1 code such as "en", "de", "fr"; empty means no stemming).
type Document struct {
	Org       string    `json:"org"`
	Kind      string    `json:"kind"`
	ID        string    `json:"id"`
	Version   string    `json:"version,omitempty"`
	Lang      string    `json:"lang,omitempty"`
	Title     string    `json:"title,omitempty"`
	Body      string    `json:"body,omitempty"`
	Data      []byte    `json:"data,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// DocumentQuery pages through the documents of one org and kind.
type DocumentQuery struct {
	Org  string
	Kind string
	// After is the id of the last document of the previous page; empty
	// starts at the first.
	After string
	// Limit bounds the page; default 100, at most 1,000.
	Limit int
}

// SearchQuery is a full-text query. Every word of Text must match (in the
// title or the body). Lang, when set, keeps only documents of that language.
type SearchQuery struct {
	Org   string
	Kind  string
	Text  string
	Lang  string
	Limit int // default 20
	// WithData returns each hit's Data with it, saving a Document read
	// per hit.
	WithData bool
}

// SearchHit is one result, best first.
type SearchHit struct {
	ID    string  `json:"id"`
	Title string  `json:"title"`
	Lang  string  `json:"lang,omitempty"`
	Score float64 `json:"score"`
	// Data is the document's Data when the query asked for it (WithData).
	Data []byte `json:"data,omitempty"`
}

// OutboxRecord is a message to deliver after the commit that wrote it
// (a webhook, an SSE event to replay).
type OutboxRecord struct {
	// Seq is assigned by the store and grows with every record.
	Seq       int64     `json:"seq"`
	Org       string    `json:"org"`
	Topic     string    `json:"topic"`
	Payload   []byte    `json:"payload"`
	CreatedAt time.Time `json:"created_at"`
}

// OutboxQuery selects undelivered records of one org and topic.
type OutboxQuery struct {
	Org   string
	Topic string
	After int64 // only records with Seq > After
	Limit int   // default 100
}

// Lease is a named, time-limited claim. Token grows with every new owner,
// so a write fenced by an older token is refused.
type Lease struct {
	Name      string    `json:"name"`
	Owner     string    `json:"owner"`
	Token     int64     `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Live reports whether the lease is held at now.
func (l Lease) Live(now time.Time) bool { return l.Owner != "" && now.Before(l.ExpiresAt) }

// KindPrivateKey is the kind of a sealed org JWT signing key: the key as
// PKCS#8 PEM (`sfbridge keys import` stores it; keys.ParsePrivateKey reads
// what [Keyring.Open] returns).
const KindPrivateKey = "private-key"

// SealedSecret is an envelope-encrypted secret for (org, kind) as the store
// keeps it; see [Keyring] to seal and open one.
type SealedSecret struct {
	Org  string `json:"org"`
	Kind string `json:"kind"`
	// KeyID names the master key that wrapped the data key.
	KeyID string `json:"key_id"`
	// WrappedKey is the data key sealed by the master key.
	WrappedKey []byte `json:"-"`
	// Ciphertext is the secret sealed by the data key.
	Ciphertext []byte `json:"-"`
	// Fingerprint identifies the plaintext without revealing it (for a
	// private key, the SHA-256 of its public key).
	Fingerprint string    `json:"fingerprint"`
	UpdatedAt   time.Time `json:"updated_at"`
}
