package audit

import (
	"errors"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/attack"
	"github.com/edabench/edabench/targets/workflow"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const run = "r1"

func id(seq uint64) string { return attack.OrderID(run, seq, time.Unix(1, 0), time.Unix(1, 0)) }

// journal builds the step services' audit for a workflow of steps steps:
// inForce[seq] = how many of them are in force; dup/twice add duplicates
// and double applications.
func journal(steps int, inForce map[uint64]int, dups map[uint64]int, twice map[uint64]bool) map[workflow.Step][]workflow.AuditEntry {
	out := map[workflow.Step][]workflow.AuditEntry{}
	for seq, n := range inForce {
		for i, st := range workflow.Steps()[:steps] {
			e := workflow.AuditEntry{Order: id(seq), Step: st, State: "compensated", Applies: 1}
			if i < n {
				e.State = "applied"
			}
			if i == 0 {
				e.Duplicates = dups[seq]
				if twice[seq] {
					e.Applies = 2
				}
			}
			out[st] = append(out[st], e)
		}
	}
	return out
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		steps    int // the run's workflow length; 0: all four
		outcomes map[uint64]Outcome
		ends     map[uint64]bool // EDA: seq -> completed; absent: not seen. nil: RR
		inForce  map[uint64]int
		dups     map[uint64]int
		twice    map[uint64]bool
		want     Report
	}{
		{
			name:     "rr all completed",
			outcomes: map[uint64]Outcome{0: OK, 1: OK, 2: Failed},
			inForce:  map[uint64]int{0: 4, 1: 4, 2: 0},
			want:     Report{Accepted: 2, Completed: 2, Rejected: 1},
		},
		{
			name:     "rr compensation left an effect",
			outcomes: map[uint64]Outcome{0: OK, 1: Indeterminate},
			inForce:  map[uint64]int{0: 4, 1: 2},
			want:     Report{Accepted: 1, Completed: 1, Indeterminate: 1, OrphanedEffects: 2},
		},
		{
			name:     "rr indeterminate that completed anyway",
			outcomes: map[uint64]Outcome{0: Indeterminate},
			inForce:  map[uint64]int{0: 4},
			want:     Report{Indeterminate: 1, IndeterminateCompleted: 1},
		},
		{
			name:     "eda lost and failed",
			outcomes: map[uint64]Outcome{0: OK, 1: OK, 2: OK, 3: Indeterminate},
			ends:     map[uint64]bool{0: true, 1: false, 3: true},
			inForce:  map[uint64]int{0: 4, 1: 0, 2: 2, 3: 4},
			want:     Report{Accepted: 3, Completed: 1, Rejected: 1, Lost: 1, Indeterminate: 1, IndeterminateCompleted: 1, OrphanedEffects: 2},
		},
		{
			name:     "duplicates delivered and applied",
			outcomes: map[uint64]Outcome{0: OK, 1: OK},
			ends:     map[uint64]bool{0: true, 1: true},
			inForce:  map[uint64]int{0: 4, 1: 4},
			dups:     map[uint64]int{0: 3},
			twice:    map[uint64]bool{1: true},
			want:     Report{Accepted: 2, Completed: 2, DuplicatesDelivered: 3, DuplicatesApplied: 1},
		},
		{
			name:     "rr two-step workflow",
			steps:    2,
			outcomes: map[uint64]Outcome{0: OK, 1: Indeterminate, 2: Indeterminate},
			inForce:  map[uint64]int{0: 2, 1: 2, 2: 1},
			want:     Report{Accepted: 1, Completed: 1, Indeterminate: 2, IndeterminateCompleted: 1, OrphanedEffects: 1},
		},
		{
			name:     "eda one-step workflow",
			steps:    1,
			outcomes: map[uint64]Outcome{0: OK, 1: OK},
			ends:     map[uint64]bool{0: true},
			inForce:  map[uint64]int{0: 1, 1: 1},
			want:     Report{Accepted: 2, Completed: 1, Lost: 1, OrphanedEffects: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLedger(64)
			for seq, o := range tt.outcomes {
				l.Record(seq, o)
			}
			var ended Ended
			if tt.ends != nil {
				ended = func(seq uint64) (bool, bool) { c, ok := tt.ends[seq]; return ok, c }
			}
			steps := tt.steps
			if steps == 0 {
				steps = workflow.MaxSteps
			}
			got := Check(run, steps, l, ended, journal(steps, tt.inForce, tt.dups, tt.twice))
			if got.Accepted != tt.want.Accepted || got.Completed != tt.want.Completed || got.Rejected != tt.want.Rejected ||
				got.Indeterminate != tt.want.Indeterminate || got.IndeterminateCompleted != tt.want.IndeterminateCompleted ||
				got.Lost != tt.want.Lost || got.DuplicatesDelivered != tt.want.DuplicatesDelivered ||
				got.DuplicatesApplied != tt.want.DuplicatesApplied || got.OrphanedEffects != tt.want.OrphanedEffects {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		o    attack.Outcome
		err  error
		want Outcome
	}{
		{attack.OK, nil, OK},
		{attack.Rejected, attack.ErrRejected, Failed},
		{attack.Dropped, nil, None},
		{attack.Timeout, status.Error(codes.DeadlineExceeded, "x"), Indeterminate},
		{attack.Error, status.Error(codes.Unavailable, "reset"), Indeterminate},
		{attack.Error, status.Error(codes.InvalidArgument, "bad"), Failed},
		{attack.Error, errors.New("eof"), Indeterminate},
	}
	for _, tt := range tests {
		if got := Classify(tt.o, tt.err); got != tt.want {
			t.Errorf("Classify(%v, %v) = %v, want %v", tt.o, tt.err, got, tt.want)
		}
	}
}
