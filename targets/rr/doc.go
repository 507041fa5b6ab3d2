// Package rr is the request-response twin: the order workflow as a chain
// (or a fanout) of synchronous gRPC calls, built the way a careful team
// would build it, so that the comparison with the event-driven twin is fair.
//
// What it does that a naive call chain does not:
//
//   - Deadlines propagate: every hop calls the next with its incoming
//     context, so gRPC carries the remaining budget (grpc-timeout) and no
//     hop works for a caller that has given up. The gateway applies
//     Config.DefaultDeadline when the client set none, and keeps a small
//     margin of the client's budget to compensate and reply before the
//     client's own deadline fires.
//   - Bounded retries with capped exponential backoff and full jitter, only
//     on Unavailable and only at the hop that saw the failure: a failure a
//     step passes on is marked (resilience.Relay) so the hops in front of it
//     neither retry it again nor count it against their healthy peer.
//   - A circuit breaker per downstream that fails fast while the peer is
//     down; a call it refused never left the process, so it needs no
//     compensation.
//   - Sagas with compensation. Every step is idempotent (workflow.Store);
//     a retried call completes the chain downstream. A business failure
//     (FAILED_PRECONDITION) unwinds synchronously: each step undoes its own
//     effect before replying, so REJECTED means nothing is left in force.
//     An indeterminate failure (deadline, unavailable) may hide an effect
//     applied before the reply was lost: the step that saw it undoes its
//     own effect and takes charge of compensating its downstream (Compensate
//     cascades and leaves tombstones, so a late Apply is refused), and says
//     so in its error (it owns the compensation), so the hops in front do
//     not repeat it. A caller that got no such answer (its call timed out)
//     compensates the peer itself. Compensations bypass the breaker, are
//     retried within CompensationTimeout, and outlive the request
//     (context.WithoutCancel) when they cannot finish before the reply.
//
// What it cannot do, by construction: a compensation is remembered only by
// the goroutine that sends it. If its retries run out (the peer stays down
// past CompensationTimeout) or the process that owns it dies, the effect
// stays in force; it is logged and counted
// (edabench_compensation_requests_total{result="failed"}) and the audit
// shows it. The event-driven twin keeps that memory in durable queues.
//
// Metrics, besides the resilience package's: edabench_inflight_requests,
// edabench_compensation_requests_total{peer,result}, and at the gateway
// edabench_gateway_orders_total{status,code},
// edabench_gateway_replays_total{status} and
// edabench_compensation_background_total.
//
// Retried PlaceOrder (same order_id or idempotency key): a finished order
// is answered from the read model, COMPLETED or REJECTED with its reason.
// An order still in progress is waited for, up to the retry's own deadline
// (less the reply margin); if it is still running then, the reply is
// ACCEPTED and GetOrder tells the outcome later. An order whose call failed
// indeterminately was compensated, and its tombstones refuse it forever: it
// reads REJECTED and must be placed again under a new order_id. The one
// exception is an order the gateway's breaker refused before anything was
// sent: it is forgotten, and a retry starts it afresh.
package rr
