package workflow

import (
	"sync"
	"time"

	"github.com/edabench/edabench/targets/api/orderpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// View is the gateway's view of one order.
type View struct {
	ID          string
	Status      orderpb.OrderStatus
	Reason      string
	AcceptedAt  time.Time
	CompletedAt time.Time
	Steps       map[Step]time.Time
	Compensated map[Step]bool
}

// ReadModel is the gateway's query side (CQRS): what GetOrder answers. Both
// twins keep one; the RR gateway fills it from the chain's reply, the EDA
// gateway from the events it consumes.
type ReadModel struct {
	mu    sync.RWMutex
	views map[string]*View
	keys  map[string]string // idempotency key -> order ID
	keyOf map[string]string // order ID -> its idempotency key, so Forget can drop it
	steps int               // how many distinct steps complete an order
}

// NewReadModel is empty, for the whole workflow.
func NewReadModel() *ReadModel { return NewReadModelFor(Plan{}) }

// NewReadModelFor is empty, for a twin running plan: an order is complete
// once each of the plan's steps is done.
func NewReadModelFor(plan Plan) *ReadModel {
	return &ReadModel{views: make(map[string]*View), keys: make(map[string]string), keyOf: make(map[string]string),
		steps: plan.Len()}
}

// StepCount is how many steps complete an order here; a gateway checks it
// against its own plan.
func (m *ReadModel) StepCount() int { return m.steps }

// Accept records a new order as ACCEPTED. When the order is already known by
// its ID or its idempotency key (a retried PlaceOrder), it changes nothing
// and returns the existing view with false: the caller answers from it
// instead of starting the workflow again. An empty key means the order ID is
// the key.
func (m *ReadModel) Accept(id, idemKey string, at time.Time) (View, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if idemKey != "" {
		if prev, ok := m.keys[idemKey]; ok {
			id = prev
		}
	}
	if v, ok := m.views[id]; ok {
		return v.clone(), false
	}
	v := &View{ID: id, Status: orderpb.OrderStatus_ACCEPTED, AcceptedAt: at}
	m.views[id] = v
	if idemKey != "" {
		m.keys[idemKey] = id
		m.keyOf[id] = idemKey
	}
	return v.clone(), true
}

// Forget drops an order whose workflow never started (its OrderPlaced was
// never confirmed), so a retry can start it afresh.
func (m *ReadModel) Forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.views[id]; ok && len(v.Steps) == 0 && v.Status == orderpb.OrderStatus_ACCEPTED {
		delete(m.views, id)
		// A key left behind would send a retry that reuses it under another
		// order ID to this forgotten ID.
		if k, ok := m.keyOf[id]; ok {
			delete(m.keys, k)
			delete(m.keyOf, id)
		}
	}
}

func (m *ReadModel) view(id string) *View {
	v := m.views[id]
	if v == nil {
		// An event for an order this gateway never accepted: it was accepted
		// before a gateway restart. Track it from here on.
		v = &View{ID: id, Status: orderpb.OrderStatus_ACCEPTED}
		m.views[id] = v
	}
	return v
}

// StepDone records that step completed. It reports whether the order is now
// complete for the first time: every step of the plan done and not
// rejected. In the fanout topology that is the join the gateway acts on.
func (m *ReadModel) StepDone(id string, step Step, at time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.view(id)
	if v.Steps == nil {
		v.Steps = make(map[Step]time.Time, m.steps)
	}
	if _, seen := v.Steps[step]; !seen {
		v.Steps[step] = at
	}
	if v.Status != orderpb.OrderStatus_ACCEPTED || len(v.Steps) < m.steps {
		return false
	}
	return true
}

// Complete marks the order COMPLETED (once; a rejected order stays rejected).
func (m *ReadModel) Complete(id string, at time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.view(id)
	if v.Status != orderpb.OrderStatus_ACCEPTED {
		return false
	}
	v.Status, v.CompletedAt = orderpb.OrderStatus_COMPLETED, at
	return true
}

// Reject marks the order REJECTED (once; a completed order stays completed).
func (m *ReadModel) Reject(id, reason string, at time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.view(id)
	if v.Status != orderpb.OrderStatus_ACCEPTED {
		return false
	}
	v.Status, v.Reason, v.CompletedAt = orderpb.OrderStatus_REJECTED, reason, at
	return true
}

// MarkCompensated records that step's effect was undone.
func (m *ReadModel) MarkCompensated(id string, step Step) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.view(id)
	if v.Compensated == nil {
		v.Compensated = make(map[Step]bool, 4)
	}
	v.Compensated[step] = true
}

// Get returns the order's view.
func (m *ReadModel) Get(id string) (View, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.views[id]
	if !ok {
		return View{}, false
	}
	return v.clone(), true
}

// Len is the number of orders known.
func (m *ReadModel) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.views)
}

func (v *View) clone() View {
	c := *v
	if v.Steps != nil {
		c.Steps = make(map[Step]time.Time, len(v.Steps))
		for k, t := range v.Steps {
			c.Steps[k] = t
		}
	}
	if v.Compensated != nil {
		c.Compensated = make(map[Step]bool, len(v.Compensated))
		for k, b := range v.Compensated {
			c.Compensated[k] = b
		}
	}
	return c
}

// Proto is the GetOrder reply, steps in chain order.
func (v View) Proto() *orderpb.Order {
	o := &orderpb.Order{OrderId: v.ID, Status: v.Status, Reason: v.Reason}
	if !v.AcceptedAt.IsZero() {
		o.AcceptedAt = timestamppb.New(v.AcceptedAt)
	}
	if !v.CompletedAt.IsZero() {
		o.CompletedAt = timestamppb.New(v.CompletedAt)
	}
	for _, s := range Steps() {
		t, done := v.Steps[s]
		if !done && !v.Compensated[s] {
			continue
		}
		st := &orderpb.StepTime{Step: string(s), Compensated: v.Compensated[s]}
		if done {
			st.CompletedAt = timestamppb.New(t)
		}
		o.Steps = append(o.Steps, st)
	}
	return o
}
