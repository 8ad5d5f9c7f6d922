package state

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned (wrapped) when a checkpoint, document or secret
// does not exist.
var ErrNotFound = errors.New("state: not found")

// ErrConflict matches every *ConflictError with errors.Is.
var ErrConflict = errors.New("state: compare-and-set conflict")

// ErrFenced matches every *FencedError with errors.Is.
var ErrFenced = errors.New("state: write fenced off")

// ConflictError says a compare-and-set lost: the checkpoint is not at the
// version the writer read.
type ConflictError struct {
	Key      CheckpointKey
	Expected int64
	Actual   int64 // 0 when the checkpoint does not exist
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("state: checkpoint %s/%s/%s is at version %d, not %d: another writer advanced it; re-read it and retry",
		e.Key.Org, e.Key.Pipeline, e.Key.Key, e.Actual, e.Expected)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// FencedError says a write was refused because the lease it was made under
// is no longer held with that token: another owner took it over (or it
// expired), so this writer must stop.
type FencedError struct {
	Lease string
	Token int64
	// Current is the lease as stored (zero if it does not exist).
	Current Lease
	Reason  string
}

func (e *FencedError) Error() string {
	return fmt.Sprintf("state: write under lease %q with fencing token %d refused: %s; this writer lost the lease and must stop (acquire it again to continue)",
		e.Lease, e.Token, e.Reason)
}

// Is makes errors.Is(err, ErrFenced) true.
func (e *FencedError) Is(target error) bool { return target == ErrFenced }

// LeaseHeldError says a lease is held by another live owner.
type LeaseHeldError struct {
	Name      string
	Owner     string
	ExpiresAt time.Time
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("state: lease %q is held by %q until %s; wait for it to expire or be released",
		e.Name, e.Owner, e.ExpiresAt.UTC().Format(time.RFC3339Nano))
}

// LeaseLostError says a renewal found the lease expired or taken over.
type LeaseLostError struct {
	Lease   Lease
	Current Lease
}

func (e *LeaseLostError) Error() string {
	return fmt.Sprintf("state: lease %q (token %d) is no longer held by %q: it expired or another owner (token %d) took it; stop the work it guards and acquire it again",
		e.Lease.Name, e.Lease.Token, e.Lease.Owner, e.Current.Token)
}

// Is makes errors.Is(err, ErrFenced) true: a lost lease fences its holder.
func (e *LeaseLostError) Is(target error) bool { return target == ErrFenced }

// SchemaTooNewError says the database was migrated by a newer sfbridge.
type SchemaTooNewError struct {
	Engine string
	Have   int // the database's schema version
	Known  int // the newest version this binary knows
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("state: the %s database is at schema version %d but this sfbridge knows versions up to %d: a newer sfbridge migrated it; run that newer sfbridge (schemas are never downgraded)",
		e.Engine, e.Have, e.Known)
}

// URLError says a state URL cannot be used.
type URLError struct {
	URL    string
	Reason string
}

func (e *URLError) Error() string {
	return fmt.Sprintf("state: cannot use state URL %q: %s; use sqlite:PATH or postgres://USER@HOST:PORT/DATABASE", redactURL(e.URL), e.Reason)
}

// InvalidError says an argument is unusable.
type InvalidError struct {
	What   string
	Reason string
}

func (e *InvalidError) Error() string { return "state: invalid " + e.What + ": " + e.Reason }
