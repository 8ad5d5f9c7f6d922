package servicedesk

import (
	"errors"
	"fmt"
)

// ConfigError is a watcher, employee or case option that cannot work.
type ConfigError struct {
	Field  string
	Reason string
	Fix    string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("servicedesk: %s: %s; %s", e.Field, e.Reason, e.Fix)
}

// QueryError is a failed subrequest of the watcher's composite poll.
type QueryError struct {
	Object string
	Status int
	Code   string
	Msg    string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("servicedesk: polling %s failed: HTTP %d %s: %s; check that the integration user can read %s and its fields (tracked fields must exist on the object)",
		e.Object, e.Status, e.Code, e.Msg, e.Object)
}

// ErrNotFound is returned (wrapped) when a Case or employee does not exist.
var ErrNotFound = errors.New("servicedesk: not found")

// NotFoundError says which record was looked for.
type NotFoundError struct {
	What string
	Key  string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("servicedesk: no %s %q: check the id, number or email (deleted records are not found)", e.What, e.Key)
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }
