package webhook

import "time"

// States of a Deliverer, as Status reports them.
const (
	StateStarting = "starting" // Run has not yet taken the lease or read the cursors
	StateStandby  = "standby"  // another replica holds the lease and delivers
	StateRunning  = "running"  // delivering, or idle with nothing to deliver
	StateDegraded = "degraded" // retrying an event the receiver has not accepted
	StateStopped  = "stopped"  // Run returned
)

// Pending is the event a Deliverer is trying to deliver.
type Pending struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Topic     string    `json:"topic"`
	Seq       int64     `json:"seq"`
	CreatedAt time.Time `json:"created_at"`
	// Attempts made so far, and the status of the last one (0 when it got
	// no HTTP answer).
	Attempts   int `json:"attempts"`
	LastStatus int `json:"last_status,omitempty"`
	// NextAttempt is when the next attempt is due (zero during one).
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// Status is what a Deliverer reports about itself. The counters count
// since the Deliverer was made.
type Status struct {
	State string `json:"state"`
	// Message says what it waits for, when anything.
	Message string `json:"message,omitempty"`
	// Holder is true while this Deliverer holds the org's webhook lease.
	Holder bool `json:"holder"`
	// Pending is the event under delivery (nil when idle).
	Pending *Pending `json:"pending,omitempty"`
	// LastDelivered is when the receiver last accepted an event, and
	// LastEventID that event's id.
	LastDelivered time.Time `json:"last_delivered,omitzero"`
	LastEventID   string    `json:"last_event_id,omitempty"`
	// LastError is the last failure (an attempt, or the store), at
	// LastErrorAt. It never holds the secret.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`

	Delivered    int64 `json:"delivered"`
	Retried      int64 `json:"retried"`
	Failed       int64 `json:"failed"`
	DeadLettered int64 `json:"dead_lettered"`
	Filtered     int64 `json:"filtered"`
}

// Lag is how long the pending event has waited since it entered the
// journal at now (0 when nothing is pending).
func (s Status) Lag(now time.Time) time.Duration {
	if s.Pending == nil {
		return 0
	}
	return max(now.Sub(s.Pending.CreatedAt), 0)
}

// Status reports the Deliverer's state and counters.
func (d *Deliverer) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.st
	if s.Pending != nil {
		p := *s.Pending
		s.Pending = &p
	}
	return s
}
