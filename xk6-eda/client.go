package eda

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/attack"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/grafana/sobek"
	"go.k6.io/k6/errext"
	"go.k6.io/k6/js/common"
	"go.k6.io/k6/js/modules"
	"go.k6.io/k6/metrics"
	"google.golang.org/grpc/status"
)

// Client is what `new eda.Client(...)` returns to one VU. The state it
// shares with other VUs lives in a shared, reference-counted by the root
// module.
type Client struct {
	mi     *ModuleInstance
	s      *shared
	closed bool
}

// PlaceOrderResult is placeOrder's return value.
type PlaceOrderResult struct {
	OrderID string  `js:"orderId"`
	Status  string  `js:"status"` // ACCEPTED, COMPLETED, REJECTED or ERROR
	AckMs   float64 `js:"ackMs"`
	Reason  string  `js:"reason"` // REJECTED: why; ERROR: the gRPC error
	Code    string  `js:"code"`   // ERROR: the gRPC status code name
}

// newClient is the JS constructor `new eda.Client(options)`.
func (mi *ModuleInstance) newClient(call sobek.ConstructorCall) *sobek.Object {
	rt := mi.vu.Runtime()
	o, err := parseOptions(rt, call.Argument(0))
	if err != nil {
		mi.throw(err)
	}
	s, err := mi.root.acquire(mi.vu, o, mi.metrics)
	if err != nil {
		mi.throw(err)
	}
	c := &Client{mi: mi, s: s}
	mi.last = c
	obj := rt.NewObject()
	must := func(err error) {
		if err != nil {
			common.Throw(rt, err)
		}
	}
	must(obj.Set("placeOrder", c.placeOrder))
	must(obj.Set("close", c.close))
	must(obj.Set("pending", func() int { return c.s.pendingCount() }))
	must(obj.Set("twin", o.Twin))
	return obj
}

// acquire returns the shared client for o's key, creating it on first use.
func (r *RootModule) acquire(vu modules.VU, o options, m *edaMetrics) (*shared, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.clients[o.key()]; ok {
		if !s.opts.same(o) {
			return nil, fmt.Errorf("eda.Client: a client for the %s twin at %s (prefix %q) already exists with other options; one process shares one client per twin, address and prefix, so give every VU the same options", o.Twin, o.GRPC, o.Prefix)
		}
		s.refs++
		return s, nil
	}
	s, err := newShared(r, o, m, vu.InitEnv().Logger)
	if err != nil {
		return nil, err
	}
	ok, err := subscribeEnd(vu.Events(), endHandlers{
		testEnd: func() { r.finish(s, true) },
		exit:    func() { r.finish(s, false) },
	})
	if err != nil {
		s.log.WithError(err).Warn("orders still in flight at the end of the test will not be counted lost")
	}
	s.atEnd.Store(ok)
	s.refs = 1
	r.clients[o.key()] = s
	return s, nil
}

// finish ends a shared client at the end of the test (settling its orders
// first) or at exit (when k6's sample channel may already be closed).
func (r *RootModule) finish(s *shared, settle bool) {
	if settle {
		s.settle()
	} else {
		s.seal()
	}
	r.forget(s)
	s.close()
}

func (r *RootModule) forget(s *shared) {
	r.mu.Lock()
	if r.clients[s.opts.key()] == s {
		delete(r.clients, s.opts.key())
	}
	r.mu.Unlock()
}

// release drops one reference; the last one settles and closes the client.
func (r *RootModule) release(s *shared) {
	r.mu.Lock()
	s.refs--
	last := s.refs == 0
	if last && r.clients[s.opts.key()] == s {
		delete(r.clients, s.opts.key())
	}
	r.mu.Unlock()
	if last {
		s.settle()
		s.close()
	}
}

// close releases this VU's reference. The last Client to close settles the
// orders in flight (waiting up to completionTimeout) and closes the
// connections; the end of the test does the same for clients never closed.
func (c *Client) close() {
	if c.closed {
		return
	}
	c.closed = true
	c.mi.root.release(c.s)
}

// placeOrder places one order and returns the twin's reply. It blocks the
// VU until the reply (not the completion).
func (c *Client) placeOrder(arg sobek.Value) *sobek.Object {
	mi := c.mi
	rt := mi.vu.Runtime()
	state := mi.vu.State()
	if state == nil {
		mi.throw(errors.New("eda.Client.placeOrder: orders can only be placed in the VU context (the default function or a scenario's exec), not in the init context"))
	}
	if c.closed {
		mi.throw(errors.New("eda.Client.placeOrder: the client is closed"))
	}
	s := c.s
	req, err := parseOrder(rt, arg)
	if err != nil {
		mi.throw(err)
	}
	if err := s.connect(mi.vu.Context()); err != nil {
		// Every order would fail the same way: end the test at once (as
		// k6/execution's test.abort does), rather than throw in every
		// iteration of every VU.
		rt.Interrupt(&errext.InterruptError{Reason: "k6/x/eda: eda.Client.placeOrder: " + err.Error()})
		return nil
	}
	s.outOnce.Do(func() {
		// The gauges belong to no VU, but must carry the run's own tags
		// (--tag testid=... and the like), or a dashboard filtering on them
		// never sees queue depth or lag.
		gt := mi.metrics.registry.RootTagSet().WithTagsFromMap(state.Options.RunTags).With("twin", s.opts.Twin)
		if s.opts.Broker != "" {
			gt = gt.With("broker", s.opts.Broker)
		}
		s.setOutput(mi.vu.Context(), state.Samples, gt)
	})
	tags := state.Tags.GetCurrentValues()
	tags.SetTag("twin", s.opts.Twin)
	if s.opts.Broker != "" {
		// The backbone beside the twin, as the harness's summary carries it.
		tags.SetTag("broker", s.opts.Broker)
	}
	ctx := mi.vu.Context()

	sent := time.Now()
	if req.OrderId == "" {
		req.OrderId = attack.OrderID(s.run, s.seq.Add(1), sent, sent)
	}
	var p *pendingOrder
	if twinkind.Of(s.opts.Twin).UsesBroker() {
		p = &pendingOrder{sent: sent, deadline: sent.Add(s.opts.CompletionTimeout), tags: tags.Clone(), ctx: ctx, out: state.Samples}
		if err := s.track(req.OrderId, p); err != nil {
			mi.throw(fmt.Errorf("eda.Client.placeOrder: %w", err))
		}
	}
	rctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	rep, err := s.client().PlaceOrder(rctx, req)
	cancel()
	end := time.Now()
	ack := end.Sub(sent)
	s.hdr.recordAck(ack)

	res, samples := c.outcome(req.OrderId, p != nil, rep, err, ack, end, &tags)
	metrics.PushIfNotDone(ctx, state.Samples, samples)
	return toObject(rt, res)
}

// outcome is what a reply (or a failed call) means for the order: the
// result the script sees and the samples to push. An order whose reply
// ends it (an error, RR's COMPLETED, a REJECTED) is no longer awaited.
func (c *Client) outcome(id string, tracked bool, rep *orderpb.PlaceOrderReply, err error, ack time.Duration, end time.Time,
	tags *metrics.TagsAndMeta) (*PlaceOrderResult, metrics.Samples) {
	mi, s := c.mi, c.s
	res := &PlaceOrderResult{OrderID: id, AckMs: metrics.D(ack)}
	samples := metrics.Samples{
		{TimeSeries: metrics.TimeSeries{Metric: mi.metrics.placed, Tags: tags.Tags}, Time: end, Metadata: tags.Metadata, Value: 1},
	}
	add := func(m *metrics.Metric, v float64) {
		samples = append(samples, metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: m, Tags: tags.Tags}, Time: end, Metadata: tags.Metadata, Value: v})
	}
	switch {
	case err != nil:
		// The order's fate is unknown (it may still complete); it is counted
		// errored, not awaited.
		if tracked {
			s.untrack(id)
		}
		st := status.Convert(err)
		res.Status, res.Code, res.Reason = "ERROR", st.Code().String(), st.Message()
		errTags := tags.Tags.With("code", res.Code)
		samples = append(samples, metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: mi.metrics.errored, Tags: errTags}, Time: end, Metadata: tags.Metadata, Value: 1})
	default:
		res.Status, res.Reason = rep.GetStatus().String(), rep.GetReason()
		if !s.opts.NoTrends {
			add(mi.metrics.ack, metrics.D(ack))
		}
		switch rep.GetStatus() {
		case orderpb.OrderStatus_COMPLETED:
			// RR: the reply is the completion.
			if tracked {
				s.untrack(id)
			}
			s.hdr.recordE2E(ack)
			if !s.opts.NoTrends {
				add(mi.metrics.e2e, metrics.D(ack))
			}
			add(mi.metrics.completed, 1)
		case orderpb.OrderStatus_REJECTED:
			if tracked {
				s.untrack(id)
			}
			add(mi.metrics.rejected, 1)
		}
		// ACCEPTED (EDA), PAYMENT_CAPTURED (hybrid): the completion
		// consumer or the sweeper ends it.
	}
	return res, samples
}

var orderKeys = []string{"orderId", "customer", "items", "amountCents", "idempotencyKey"}

// parseOrder turns placeOrder's optional argument into a request; missing
// fields take the generated order's values (customer "k6", one "sku-1",
// 1999 cents, as the harness places).
func parseOrder(rt *sobek.Runtime, v sobek.Value) (*orderpb.PlaceOrderRequest, error) {
	req := &orderpb.PlaceOrderRequest{Customer: "k6", AmountCents: 1999, Items: []*orderpb.Item{{Sku: "sku-1", Quantity: 1}}}
	if v == nil || sobek.IsUndefined(v) || sobek.IsNull(v) {
		return req, nil
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("eda.Client.placeOrder: malformed order: "+format, a...)
	}
	obj, ok := v.(*sobek.Object)
	if !ok || obj.ClassName() == "Array" || obj.ClassName() == "Function" {
		return nil, bad("want an object like { customer: \"alice\", items: [{ sku: \"book\", quantity: 1 }], amountCents: 1999 }, got %s", v.String())
	}
	for _, k := range obj.Keys() {
		if !slices.Contains(orderKeys, k) {
			return nil, bad("unknown field %q (fields: %s)", k, strings.Join(orderKeys, ", "))
		}
	}
	get := func(name string) sobek.Value {
		val := obj.Get(name)
		if val == nil || sobek.IsUndefined(val) || sobek.IsNull(val) {
			return nil
		}
		return val
	}
	str := func(name string, dst *string) error {
		val := get(name)
		if val == nil {
			return nil
		}
		s, ok := val.Export().(string)
		if !ok {
			return bad("%s must be a string, got %s", name, val.String())
		}
		*dst = s
		return nil
	}
	for _, e := range []error{str("orderId", &req.OrderId), str("customer", &req.Customer), str("idempotencyKey", &req.IdempotencyKey)} {
		if e != nil {
			return nil, e
		}
	}
	if val := get("amountCents"); val != nil {
		n, ok := wholeNumber(val.Export())
		if !ok || n < 0 {
			return nil, bad("amountCents must be a whole number of cents >= 0, got %s", val.String())
		}
		req.AmountCents = n
	}
	if val := get("items"); val != nil {
		items, err := parseItems(rt, val, bad)
		if err != nil {
			return nil, err
		}
		req.Items = items
	}
	return req, nil
}

// parseItems reads an order's items: a non-empty array of { sku, quantity }.
func parseItems(rt *sobek.Runtime, val sobek.Value, bad func(string, ...any) error) ([]*orderpb.Item, error) {
	arr, ok := val.(*sobek.Object)
	if !ok || arr.ClassName() != "Array" {
		return nil, bad("items must be an array of { sku, quantity }, got %s", val.String())
	}
	var raw []any
	if err := rt.ExportTo(arr, &raw); err != nil {
		return nil, bad("items: %v", err)
	}
	if len(raw) == 0 {
		return nil, bad("items is empty: an order needs at least one item")
	}
	items := make([]*orderpb.Item, 0, len(raw))
	for i, it := range raw {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, bad("items[%d] must be an object { sku, quantity }", i)
		}
		for k := range m {
			if k != "sku" && k != "quantity" {
				return nil, bad("items[%d]: unknown field %q (fields: sku, quantity)", i, k)
			}
		}
		sku, ok := m["sku"].(string)
		if !ok || sku == "" {
			return nil, bad("items[%d].sku must be a non-empty string", i)
		}
		q, ok := wholeNumber(m["quantity"])
		if !ok || q < 1 || q > math.MaxInt32 {
			return nil, bad("items[%d].quantity must be a whole number >= 1", i)
		}
		items = append(items, &orderpb.Item{Sku: sku, Quantity: int32(q)})
	}
	return items, nil
}

func wholeNumber(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.Abs(x) > 1<<53 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}
