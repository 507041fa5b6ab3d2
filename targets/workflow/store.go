package workflow

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"
)

// State is where one (order, step) stands.
type State uint8

const (
	None State = iota
	Applied
	Failed
	// Compensated is set by a compensation: of an applied effect (undone), or
	// of one never applied (a tombstone, so a late delivery is refused).
	Compensated
)

func (s State) String() string {
	return [...]string{"none", "applied", "failed", "compensated"}[s]
}

// Outcome is what one attempt to apply a step did.
type Outcome uint8

const (
	// OutcomeApplied: the effect was applied now, for the first time.
	OutcomeApplied Outcome = iota + 1
	// OutcomeDuplicate: it had been applied before; nothing was applied now.
	OutcomeDuplicate
	// OutcomeFailed: the step failed (now or on an earlier attempt).
	OutcomeFailed
	// OutcomeRefused: the order was compensated before this attempt.
	OutcomeRefused
)

func (o Outcome) String() string {
	return [...]string{"", "applied", "duplicate", "failed", "refused"}[o]
}

// Record is everything the store knows of one (order, step).
type Record struct {
	State State
	// Applies counts effect applications; more than one means the step was
	// applied twice, which the audit reports as duplicates_applied.
	Applies       int
	Duplicates    int // deliveries or calls of an already decided (order, step)
	Compensations int // applied effects undone
	At            time.Time
}

type key struct {
	order string
	step  Step
}

// Store keeps each step's effects with an idempotency key (order ID + step).
// It journals every decision to an append-only file before the caller
// acknowledges anything, so a service killed with SIGKILL and restarted still
// knows what it applied: one write per record reaches the page cache, which
// outlives the process (Sync adds an fsync per record for power loss).
type Store struct {
	mu     sync.Mutex
	f      *os.File
	closed bool
	sync   bool
	recs   map[key]*Record
	buf    []byte
}

// StoreOption configures OpenStore.
type StoreOption func(*Store)

// WithFsync makes every record durable against power loss, at a cost.
func WithFsync() StoreOption { return func(s *Store) { s.sync = true } }

// OpenStore opens (and replays) the journal at path; "" keeps it in memory only.
func OpenStore(path string, opts ...StoreOption) (*Store, error) {
	s := &Store{recs: make(map[key]*Record)}
	for _, o := range opts {
		o(s)
	}
	if path == "" {
		return s, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open store journal: %w (check --data-dir is writable)", err)
	}
	if err := s.replay(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("replay store journal %s: %w", path, err)
	}
	s.f = f
	return s, nil
}

// Close closes the journal.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

func (s *Store) replay(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		op, at, k, ok := parseRecord(line)
		if !ok {
			// A torn last line is what a crash mid-write leaves; anything
			// else is corruption the operator must see.
			if !sc.Scan() {
				return nil
			}
			return fmt.Errorf("line %d is malformed: %q", n, line)
		}
		s.apply(op, k, at)
	}
	return sc.Err()
}

func parseRecord(line []byte) (op byte, at time.Time, k key, ok bool) {
	parts := bytes.SplitN(line, []byte{'\t'}, 4)
	if len(parts) != 4 || len(parts[0]) != 1 {
		return 0, at, k, false
	}
	ns, err := strconv.ParseInt(string(parts[1]), 10, 64)
	if err != nil {
		return 0, at, k, false
	}
	return parts[0][0], time.Unix(0, ns), key{order: string(parts[3]), step: Step(parts[2])}, true
}

// apply changes the in-memory state for one journal record; s.mu held.
func (s *Store) apply(op byte, k key, at time.Time) *Record {
	r := s.recs[k]
	if r == nil {
		r = &Record{}
		s.recs[k] = r
	}
	switch op {
	case 'A':
		r.Applies++
		r.State, r.At = Applied, at
	case 'F':
		r.State, r.At = Failed, at
	case 'D':
		r.Duplicates++
	case 'C':
		if r.State == Applied {
			r.Compensations++
		}
		r.State = Compensated
		if r.At.IsZero() {
			r.At = at
		}
	}
	return r
}

// journal writes one record and applies it; s.mu held.
func (s *Store) journal(op byte, k key, at time.Time) (*Record, error) {
	if s.closed {
		return nil, ErrStoreClosed
	}
	if s.f != nil {
		b := s.buf[:0]
		b = append(b, op, '\t')
		b = strconv.AppendInt(b, at.UnixNano(), 10)
		b = append(b, '\t')
		b = append(b, k.step...)
		b = append(b, '\t')
		b = append(b, k.order...)
		b = append(b, '\n')
		s.buf = b
		if _, err := s.f.Write(b); err != nil {
			return nil, fmt.Errorf("store journal write: %w", err)
		}
		if s.sync {
			if err := s.f.Sync(); err != nil {
				return nil, fmt.Errorf("store journal fsync: %w", err)
			}
		}
	}
	return s.apply(op, k, at), nil
}

// Peek returns the record of (order, step) without changing it.
func (s *Store) Peek(order string, step Step) Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.recs[key{order, step}]; r != nil {
		return *r
	}
	return Record{}
}

// Apply applies the effect of step for order unless it was decided before.
// It returns the outcome and the time the (order, step) was decided.
func (s *Store) Apply(order string, step Step, at time.Time) (Outcome, time.Time, error) {
	return s.decide(order, step, at, 'A')
}

// Fail records that step failed for order, unless it was decided before.
func (s *Store) Fail(order string, step Step, at time.Time) (Outcome, time.Time, error) {
	return s.decide(order, step, at, 'F')
}

func (s *Store) decide(order string, step Step, at time.Time, op byte) (Outcome, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{order, step}
	r := s.recs[k]
	if r == nil || r.State == None {
		r, err := s.journal(op, k, at)
		if err != nil {
			return 0, time.Time{}, err
		}
		if op == 'F' {
			return OutcomeFailed, r.At, nil
		}
		return OutcomeApplied, r.At, nil
	}
	if _, err := s.journal('D', k, at); err != nil {
		return 0, time.Time{}, err
	}
	switch r.State {
	case Applied:
		return OutcomeDuplicate, r.At, nil
	case Failed:
		return OutcomeFailed, r.At, nil
	default:
		return OutcomeRefused, r.At, nil
	}
}

// Compensate undoes step for order. It reports whether an applied effect was
// undone now; compensating an order never applied leaves a tombstone so that
// a late delivery is refused, and compensating twice does nothing.
func (s *Store) Compensate(order string, step Step, at time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{order, step}
	r := s.recs[k]
	if r != nil && (r.State == Compensated || r.State == Failed) {
		return false, nil
	}
	wasApplied := r != nil && r.State == Applied
	if _, err := s.journal('C', k, at); err != nil {
		return false, err
	}
	return wasApplied, nil
}

// AuditEntry is one (order, step) as the audit sees it.
type AuditEntry struct {
	Order         string `json:"order"`
	Step          Step   `json:"step"`
	State         string `json:"state"`
	Applies       int    `json:"applies"`
	Duplicates    int    `json:"duplicates"`
	Compensations int    `json:"compensations"`
}

// AuditTotals sums a store's records.
type AuditTotals struct {
	Keys                int `json:"keys"`
	Applied             int `json:"applied"`      // (order, step) pairs applied at least once
	DuplicatesDelivered int `json:"duplicates"`   // attempts on an already decided pair
	DuplicatesApplied   int `json:"double_apply"` // extra applications: must be 0
	Compensations       int `json:"compensations"`
	Failed              int `json:"failed"`
	Tombstones          int `json:"tombstones"` // compensated before ever applied
	InForce             int `json:"in_force"`   // applied and not compensated
}

// Audit returns every record (sorted) and the totals.
func (s *Store) Audit() ([]AuditEntry, AuditTotals) {
	s.mu.Lock()
	defer s.mu.Unlock()
	entries := make([]AuditEntry, 0, len(s.recs))
	var t AuditTotals
	for k, r := range s.recs {
		entries = append(entries, AuditEntry{Order: k.order, Step: k.step, State: r.State.String(),
			Applies: r.Applies, Duplicates: r.Duplicates, Compensations: r.Compensations})
		t.Keys++
		if r.Applies > 0 {
			t.Applied++
			t.DuplicatesApplied += r.Applies - 1
		}
		t.DuplicatesDelivered += r.Duplicates
		t.Compensations += r.Compensations
		switch {
		case r.State == Failed:
			t.Failed++
		case r.State == Compensated && r.Applies == 0:
			t.Tombstones++
		case r.State == Applied:
			t.InForce++
		}
	}
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].Order != entries[j].Order {
			return entries[i].Order < entries[j].Order
		}
		return entries[i].Step < entries[j].Step
	})
	return entries, t
}

// ErrStoreClosed is returned after Close.
var ErrStoreClosed = errors.New("store closed")
