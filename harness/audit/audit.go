// Package audit proves what a twin lost or applied twice, in the manner of
// Jepsen's queue checker: the harness knows each order's outcome as the
// client saw it (ok, a definite failure, or indeterminate), and whether it
// saw the order end; every step service knows, per order, what it applied,
// how many duplicates it was handed and what it compensated. After the
// drain, the two accounts must agree.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/edabench/edabench/harness/attack"
	"github.com/edabench/edabench/internal/bitset"
	"github.com/edabench/edabench/targets/ops"
	"github.com/edabench/edabench/targets/workflow"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Outcome is one order's outcome as the client saw it.
type Outcome uint8

const (
	None          Outcome = iota // never sent (dropped)
	OK                           // RR: COMPLETED; EDA: ACCEPTED (after the broker's confirm)
	Failed                       // definitely not done: REJECTED, or an error that says so
	Indeterminate                // a timeout, a reset, an unconfirmed publish: it may have happened
)

// Classify turns a load result into the audit's outcome. Only errors that
// prove the order was refused before any effect count as failures; every
// other error leaves the order indeterminate, as Jepsen does.
func Classify(o attack.Outcome, err error) Outcome {
	switch o {
	case attack.OK:
		return OK
	case attack.Rejected:
		return Failed
	case attack.Dropped:
		return None
	case attack.Timeout:
		return Indeterminate
	}
	switch status.Code(err) {
	case codes.InvalidArgument, codes.AlreadyExists, codes.PermissionDenied, codes.Unauthenticated,
		codes.Unimplemented, codes.OutOfRange, codes.FailedPrecondition:
		return Failed
	}
	return Indeterminate
}

// Ledger keeps each order's outcome, by sequence number, without locks.
type Ledger struct{ ok, failed, indet bitset.Set }

// NewLedger sizes the ledger for n orders; later ones are not audited.
func NewLedger(n int64) *Ledger {
	return &Ledger{ok: bitset.New(n), failed: bitset.New(n), indet: bitset.New(n)}
}

// Record notes an order's outcome.
func (l *Ledger) Record(seq uint64, o Outcome) {
	switch o {
	case OK:
		l.ok.Add(seq)
	case Failed:
		l.failed.Add(seq)
	case Indeterminate:
		l.indet.Add(seq)
	}
}

// Accepted reports whether the order's outcome was OK.
func (l *Ledger) Accepted(seq uint64) bool { return l.ok.Has(seq) }

// Report is twins.<twin>.audit in summary.json.
type Report struct {
	Accepted               int64 `json:"accepted"`
	Completed              int64 `json:"completed"`
	Rejected               int64 `json:"rejected"` // a definite failure, or (EDA) accepted then OrderFailed
	Indeterminate          int64 `json:"indeterminate"`
	IndeterminateCompleted int64 `json:"indeterminate_completed"`
	Lost                   int64 `json:"lost"` // accepted and never completed
	DuplicatesDelivered    int64 `json:"duplicates_delivered"`
	DuplicatesApplied      int64 `json:"duplicates_applied"` // must be 0
	// OrphanedEffects counts step effects still in force for orders that
	// did not complete: applied and never compensated.
	OrphanedEffects int64 `json:"orphaned_effects"`
	DeadLettered    int64 `json:"dead_lettered"`
	// Unaudited names the step services whose journal could not be read:
	// the figures that need them are then lower bounds.
	Unaudited []string `json:"unaudited,omitempty"`
}

// Ended says whether the harness saw an order end, and how (EDA); nil for
// RR, whose reply is the end.
type Ended func(seq uint64) (seen, completed bool)

// Check reconciles the ledger, the ends seen and the services' journals.
// run is the run ID the order IDs carry; steps is how many steps the run's
// workflow has (an order completed when that many are in force); entries
// are every step's audit.
func Check(run string, steps int, l *Ledger, ended Ended, entries map[workflow.Step][]workflow.AuditEntry) Report {
	var r Report
	// Effects in force per order, from the journals.
	inForce := map[uint64]int{}
	for _, es := range entries {
		for _, e := range es {
			seq, _, _, ok := attack.ParseOrderID(run, e.Order)
			if !ok {
				continue
			}
			r.DuplicatesDelivered += int64(e.Duplicates)
			if e.Applies > 1 {
				r.DuplicatesApplied += int64(e.Applies - 1)
			}
			if e.State == workflow.Applied.String() {
				inForce[seq]++
			}
		}
	}
	all := steps
	completed := map[uint64]bool{}
	l.ok.Each(func(seq uint64) {
		r.Accepted++
		done := inForce[seq] == all
		if ended != nil {
			seen, ok := ended(seq)
			switch {
			case seen && !ok:
				r.Rejected++
				return
			case !seen:
				done = false
			}
		}
		if done {
			r.Completed++
			completed[seq] = true
		} else {
			r.Lost++
		}
	})
	l.failed.Each(func(uint64) { r.Rejected++ })
	l.indet.Each(func(seq uint64) {
		r.Indeterminate++
		seen, ok := false, false
		if ended != nil {
			seen, ok = ended(seq)
		}
		if inForce[seq] == all && (ended == nil || (seen && ok)) {
			r.IndeterminateCompleted++
			completed[seq] = true
		}
	})
	for seq, n := range inForce {
		if !completed[seq] {
			r.OrphanedEffects += int64(n)
		}
	}
	return r
}

// Fetch reads every step service's journal audit (GET /audit).
func Fetch(ctx context.Context, client *http.Client, httpAddrs map[workflow.Step]string) (map[workflow.Step][]workflow.AuditEntry, []string) {
	out := map[workflow.Step][]workflow.AuditEntry{}
	var missing []string
	for st, addr := range httpAddrs {
		es, err := fetch(ctx, client, "http://"+addr+"/audit")
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (%v)", st, err))
			continue
		}
		out[st] = es
	}
	return out, missing
}

func fetch(ctx context.Context, client *http.Client, url string) ([]workflow.AuditEntry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(resp.Status)
	}
	var a ops.Audit
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return nil, err
	}
	return a.Entries, nil
}
