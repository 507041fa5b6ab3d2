// Package bus is edabench's broker-neutral messaging layer for the
// event-driven twins: services consume an event from their own durable
// queue, apply an idempotent step, publish the next event (persistent,
// confirmed) and only then ack.
//
// # Layer and drivers
//
// A Driver (one package per broker: targets/bus/rabbitmq; registered by
// name in drivers.Builtin()) speaks the broker's protocol: it declares a
// Topology, makes one confirmed publish attempt, subscribes with manual
// settlement primitives (ack, another attempt, dead-letter), reconnects on
// its own and reports lost connections. The Conn above it owns what must
// mean the same on every broker, so no driver can bend it:
//
//   - the first-publish time (Delivery.PublishedAt, ns) and the message
//     identity are fixed before the first attempt and kept by every
//     republish and redelivery;
//   - Publish returns nil only once the broker confirmed; a publish whose
//     connection died is republished after the reconnect (same MessageID),
//     so delivery is at-least-once and consumers deduplicate;
//   - a delivery is acked only after its handler returned nil and every
//     publish the handler made with its ctx was confirmed;
//   - a failed delivery gets MaxAttempts attempts, then goes to its
//     dead-letter queue DLQName(queue); ErrPoison sends it there at once.
//
// bustest.Run is the contract suite every driver must pass.
package bus
