package workflow

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/api/orderpb"
)

func testOrder(id string) Order {
	return Order{ID: id, Customer: "c1", Items: []Item{{SKU: "sku-1", Quantity: 2}}, AmountCents: 1250}
}

func TestParseCost(t *testing.T) {
	tests := []struct {
		spec    string
		want    Cost
		wantErr string
	}{
		{spec: "", want: DefaultCost()},
		{spec: "dist=exponential,mean=5ms,cap=50ms", want: Cost{Dist: Exponential, Mean: 5 * time.Millisecond, Cap: 50 * time.Millisecond, Mode: Wait}},
		{spec: "mode=cpu,error=0.25", want: Cost{Dist: Fixed, Mean: time.Millisecond, Mode: CPU, ErrorProb: 0.25}},
		{spec: "dist=lognormal,mean=2ms,sigma=1", want: Cost{Dist: LogNormal, Mean: 2 * time.Millisecond, Mode: Wait, Sigma: 1}},
		{spec: "dist=pareto", wantErr: "want fixed, exponential or lognormal"},
		{spec: "mode=idle", wantErr: "want wait or cpu"},
		{spec: "error=1.5", wantErr: "want a probability"},
		{spec: "mean=5ms,cap=1ms", wantErr: "cap 1ms is below mean 5ms"},
		{spec: "mean=fast", wantErr: "mean"},
		{spec: "speed=1", wantErr: "unknown key \"speed\""},
		{spec: "mean", wantErr: "is not key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseCost(DefaultCost(), tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCost(%q) error = %v, want it to mention %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseCost(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
			}
			back, err := ParseCost(Cost{}, got.String())
			if err != nil || back.Dist != got.Dist || back.Mean != got.Mean || back.Mode != got.Mode || back.ErrorProb != got.ErrorProb {
				t.Fatalf("String() %q does not parse back: %+v, %v", got.String(), back, err)
			}
		})
	}
}

func TestCostSampleMeans(t *testing.T) {
	const n = 200000
	tests := []struct {
		name string
		c    Cost
	}{
		{"fixed", Cost{Dist: Fixed, Mean: 3 * time.Millisecond, Mode: Wait}},
		{"exponential", Cost{Dist: Exponential, Mean: 3 * time.Millisecond, Cap: time.Second, Mode: Wait}},
		{"lognormal", Cost{Dist: LogNormal, Mean: 3 * time.Millisecond, Cap: time.Second, Mode: Wait, Sigma: 0.8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var sum float64
			var max time.Duration
			for i := 0; i < n; i++ {
				d := tt.c.Sample(r)
				sum += float64(d)
				if d > max {
					max = d
				}
			}
			mean := sum / n
			if rel := math.Abs(mean-float64(tt.c.Mean)) / float64(tt.c.Mean); rel > 0.02 {
				t.Fatalf("sample mean %v, want %v within 2%%", time.Duration(mean), tt.c.Mean)
			}
			if max > tt.c.capOrDefault() {
				t.Fatalf("sample %v above cap %v", max, tt.c.capOrDefault())
			}
		})
	}
	capped := Cost{Dist: Exponential, Mean: time.Millisecond, Cap: 2 * time.Millisecond}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10000; i++ {
		if d := capped.Sample(r); d > 2*time.Millisecond {
			t.Fatalf("capped sample %v", d)
		}
	}
}

func TestCostFailsRate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	c := Cost{ErrorProb: 0.1}
	fails := 0
	for i := 0; i < 100000; i++ {
		if c.Fails(r) {
			fails++
		}
	}
	if fails < 9500 || fails > 10500 {
		t.Fatalf("%d failures in 100000 at p=0.1", fails)
	}
	if (Cost{}).Fails(r) {
		t.Fatal("zero error probability failed")
	}
}

func TestSpendStopsOnCancel(t *testing.T) {
	for _, mode := range []Mode{Wait, CPU} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := (Cost{Mode: mode}).Spend(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: Spend on a cancelled ctx = %v", mode, err)
		}
	}
}

func TestCostJSONKeepsOmittedFields(t *testing.T) {
	c := Cost{Dist: Exponential, Mean: 5 * time.Millisecond, Cap: 20 * time.Millisecond, Mode: CPU}
	if err := c.UnmarshalJSON([]byte(`{"mean":"40ms","error_prob":0.5}`)); err != nil {
		t.Fatal(err)
	}
	want := Cost{Dist: Exponential, Mean: 40 * time.Millisecond, Cap: 20 * time.Millisecond, Mode: CPU, ErrorProb: 0.5}
	if c != want {
		t.Fatalf("got %+v, want %+v", c, want)
	}
	if err := NewCostControl(DefaultCost()).Store(c); err == nil {
		t.Fatal("Store accepted cap below mean")
	}
}

func TestStoreIdempotency(t *testing.T) {
	now := time.Unix(100, 0)
	steps := []struct {
		op   string
		want Outcome
	}{
		{"apply", OutcomeApplied},
		{"apply", OutcomeDuplicate},
		{"fail", OutcomeDuplicate},
		{"compensate", 0},
		{"apply", OutcomeRefused},
	}
	s, _ := OpenStore("")
	for i, st := range steps {
		switch st.op {
		case "apply", "fail":
			f := s.Apply
			if st.op == "fail" {
				f = s.Fail
			}
			out, at, err := f("o1", Payment, now.Add(time.Duration(i)))
			if err != nil || out != st.want || !at.Equal(now) {
				t.Fatalf("step %d %s: %v at %v, %v; want %v at %v", i, st.op, out, at, err, st.want, now)
			}
		case "compensate":
			undone, err := s.Compensate("o1", Payment, now)
			if err != nil || !undone {
				t.Fatalf("compensate = %v, %v", undone, err)
			}
		}
	}
	_, tot := s.Audit()
	if tot.Applied != 1 || tot.DuplicatesApplied != 0 || tot.DuplicatesDelivered != 3 || tot.Compensations != 1 || tot.InForce != 0 {
		t.Fatalf("totals %+v", tot)
	}
}

func TestStoreTombstoneRefusesLateApply(t *testing.T) {
	s, _ := OpenStore("")
	undone, err := s.Compensate("o2", Shipping, time.Now())
	if err != nil || undone {
		t.Fatalf("compensate unapplied = %v, %v", undone, err)
	}
	if out, _, _ := s.Apply("o2", Shipping, time.Now()); out != OutcomeRefused {
		t.Fatalf("late apply = %v, want refused", out)
	}
	if again, _ := s.Compensate("o2", Shipping, time.Now()); again {
		t.Fatal("second compensation undid something")
	}
	_, tot := s.Audit()
	if tot.Tombstones != 1 || tot.Applied != 0 {
		t.Fatalf("totals %+v", tot)
	}
}

func TestStoreReplaysJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Apply("a", Payment, time.Unix(1, 0))
	s.Apply("a", Payment, time.Unix(2, 0))
	s.Fail("b", Payment, time.Unix(3, 0))
	s.Apply("c", Payment, time.Unix(4, 0))
	s.Compensate("c", Payment, time.Unix(5, 0))
	_, before := s.Audit()
	// No Close: a SIGKILLed service never closes its journal.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("A\t6\tpay") // torn last line, as a crash mid-write leaves
	f.Close()

	r, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	_, after := r.Audit()
	if after != before {
		t.Fatalf("replayed totals %+v, want %+v", after, before)
	}
	if out, at, _ := r.Apply("a", Payment, time.Now()); out != OutcomeDuplicate || !at.Equal(time.Unix(1, 0)) {
		t.Fatalf("apply after replay = %v at %v", out, at)
	}
	if out, _, _ := r.Apply("b", Payment, time.Now()); out != OutcomeFailed {
		t.Fatalf("failed order after replay = %v", out)
	}
	if out, _, _ := r.Apply("c", Payment, time.Now()); out != OutcomeRefused {
		t.Fatalf("compensated order after replay = %v", out)
	}
	r.Close()
	if _, _, err := r.Apply("d", Payment, time.Now()); !errors.Is(err, ErrStoreClosed) {
		t.Fatalf("apply after close = %v", err)
	}
}

func TestStoreRejectsCorruptJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	os.WriteFile(path, []byte("garbage\nA\t1\tpayment\to1\n"), 0o644)
	if _, err := OpenStore(path); err == nil || !strings.Contains(err.Error(), "line 1 is malformed") {
		t.Fatalf("OpenStore on a corrupt journal = %v", err)
	}
}

func TestExecutorConcurrentDuplicatesApplyOnce(t *testing.T) {
	s, _ := OpenStore(filepath.Join(t.TempDir(), "j"))
	e := NewExecutor(Inventory, s, NewCostControl(Cost{Dist: Fixed, Mean: 200 * time.Microsecond, Mode: Wait}), nil, 1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[Outcome]int{}
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Execute(context.Background(), testOrder("same"))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			outcomes[r.Outcome]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if outcomes[OutcomeApplied] != 1 || outcomes[OutcomeDuplicate] != 49 {
		t.Fatalf("outcomes %v, want 1 applied and 49 duplicates", outcomes)
	}
	_, tot := s.Audit()
	if tot.DuplicatesApplied != 0 {
		t.Fatalf("double applied: %+v", tot)
	}
}

func TestExecutorFailureIsSticky(t *testing.T) {
	s, _ := OpenStore("")
	cc := NewCostControl(Cost{Dist: Fixed, Mode: Wait, ErrorProb: 1})
	e := NewExecutor(Payment, s, cc, nil, 1)
	if _, err := e.Execute(context.Background(), testOrder("x")); !errors.Is(err, ErrStepFailed) {
		t.Fatalf("first = %v", err)
	}
	cc.Store(Cost{Dist: Fixed, Mode: Wait})
	// A redelivery of a failed order must fail again, not apply: the failure
	// event may already be out and compensations under way.
	if _, err := e.Execute(context.Background(), testOrder("x")); !errors.Is(err, ErrStepFailed) {
		t.Fatalf("redelivered = %v", err)
	}
	if r, err := e.Execute(context.Background(), testOrder("y")); err != nil || r.Outcome != OutcomeApplied {
		t.Fatalf("new order after the fault = %v, %v", r, err)
	}
	if _, err := e.Compensate("y"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Execute(context.Background(), testOrder("y")); !errors.Is(err, ErrCompensated) {
		t.Fatalf("after compensation = %v", err)
	}
}

func TestTopologyNext(t *testing.T) {
	tests := []struct {
		top  Topology
		step Step
		want []Step
	}{
		{Chain, Payment, []Step{Inventory}},
		{Chain, Shipping, []Step{Notification}},
		{Chain, Notification, nil},
		{Fanout, Payment, []Step{Inventory, Shipping, Notification}},
		{Fanout, Shipping, nil},
	}
	for _, tt := range tests {
		got := tt.top.Next(tt.step)
		if len(got) != len(tt.want) {
			t.Fatalf("%s.Next(%s) = %v, want %v", tt.top, tt.step, got, tt.want)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Fatalf("%s.Next(%s) = %v, want %v", tt.top, tt.step, got, tt.want)
			}
		}
	}
	if _, err := ParseTopology("ring"); err == nil {
		t.Fatal("ParseTopology accepted ring")
	}
}

func TestOrderValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Order)
		want string
	}{
		{"ok", func(*Order) {}, ""},
		{"no id", func(o *Order) { o.ID = "" }, "order_id is empty"},
		{"tab in id", func(o *Order) { o.ID = "a\tb" }, "tab or newline"},
		{"no customer", func(o *Order) { o.Customer = "" }, "customer"},
		{"no items", func(o *Order) { o.Items = nil }, "no items"},
		{"zero amount", func(o *Order) { o.AmountCents = 0 }, "amount_cents"},
		{"bad item", func(o *Order) { o.Items[0].Quantity = 0 }, "item 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOrder("v")
			tt.mod(&o)
			err := o.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidOrder) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
	o := testOrder("rt")
	if back := FromProto(o.Proto()); back.ID != o.ID || back.Items[0] != o.Items[0] || back.AmountCents != o.AmountCents {
		t.Fatalf("proto round trip: %+v", back)
	}
}

func TestReadModel(t *testing.T) {
	m := NewReadModel()
	at := time.Unix(10, 0)
	if _, isNew := m.Accept("o1", "k1", at); !isNew {
		t.Fatal("first accept not new")
	}
	if v, isNew := m.Accept("o2", "k1", at); isNew || v.ID != "o1" {
		t.Fatalf("same idempotency key: %+v new=%v", v, isNew)
	}
	var done bool
	for i, s := range Steps() {
		done = m.StepDone("o1", s, at.Add(time.Duration(i+1)*time.Second))
	}
	if !done || !m.Complete("o1", at.Add(5*time.Second)) || m.Complete("o1", at) {
		t.Fatal("completion is not once")
	}
	if m.Reject("o1", "late", at) {
		t.Fatal("rejected a completed order")
	}
	p, _ := m.Get("o1")
	pb := p.Proto()
	if pb.Status != orderpb.OrderStatus_COMPLETED || len(pb.Steps) != 4 || pb.Steps[3].Step != "notification" {
		t.Fatalf("proto %v", pb)
	}
	m.Accept("o3", "", at)
	m.Forget("o3")
	if _, ok := m.Get("o3"); ok {
		t.Fatal("forgotten order still there")
	}
}

// BenchmarkExecutorStep is one step's overhead with zero service time: the
// idempotency check, the journal write and the metrics.
func BenchmarkExecutorStep(b *testing.B) {
	for _, bc := range []struct {
		name string
		dup  bool
	}{{"first", false}, {"duplicate", true}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := OpenStore(filepath.Join(b.TempDir(), "journal"))
			if err != nil {
				b.Fatal(err)
			}
			e := NewExecutor(Payment, s, NewCostControl(Cost{Dist: Fixed, Mode: Wait}), NewMetrics(nil), 1)
			orders := make([]Order, b.N)
			for i := range orders {
				orders[i] = testOrder("bench-" + strconv.Itoa(i))
				if bc.dup {
					e.Execute(context.Background(), orders[i])
				}
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := e.Execute(ctx, orders[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
