// Package bus is edabench's reliable RabbitMQ messaging layer for the
// event-driven twin: services consume an event from their own durable queue,
// apply an idempotent step, publish the next event (persistent, confirmed)
// and only then ack.
//
// # Topology
//
// Dial declares, idempotently and again after every reconnect:
//
//   - a durable topic exchange (Options.Exchange, default "edabench.orders");
//   - a durable direct dead-letter exchange (default "<exchange>.dlx");
//   - per Queue: a durable queue (quorum by default, or classic) bound with
//     its routing keys, dead-lettering to the DLX with the queue name as
//     routing key, and its durable dead-letter queue "<queue>.dlq".
//
// Quorum queues get x-delivery-limit = MaxAttempts-1 (the broker dead-letters
// a message that keeps coming back, even if the consumer crashes on it) and
// at-least-once dead-lettering. Classic queues have no delivery count, so the
// bus bounds retries itself: a failed message is republished to the queue
// with an attempt counter (HeaderRetries) and the original acked; after the
// last attempt it is rejected to the DLX.
//
// # Connections
//
// A Conn keeps two AMQP connections, "<name>/publish" and "<name>/consume"
// (RabbitMQ blocks publishing connections under resource alarms; acks must
// not be stuck behind them). Each is redialled forever with capped,
// jittered exponential backoff until the Conn is closed.
//
// # Guarantees
//
// Publish returns nil only after a publisher confirm. A publish whose
// connection dies before the confirm is republished (same MessageID) after
// the reconnect, so delivery is at-least-once; consumers must be idempotent
// (deduplicate on Delivery.MessageID). Consume acks after the handler
// returns nil; on error the message is retried up to the queue's MaxAttempts
// and then dead-lettered; an error wrapping ErrPoison dead-letters at once.
//
// Every message carries MessageId, CorrelationId (the order ID), the AMQP
// timestamp (whole seconds) and HeaderPublishedNS, the first publish time in
// Unix nanoseconds, exposed as Delivery.PublishedAt.
package bus
