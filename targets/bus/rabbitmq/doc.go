// Package rabbitmq is the bus driver for RabbitMQ (amqp091-go), registered
// as bus.RabbitMQ in drivers.Builtin(). It is the only package of targets/
// that speaks AMQP; the rules every driver keeps (timestamps, ack after
// confirm, bounded redelivery, republish after a reconnect) are the bus
// layer's, not this package's.
//
// # Topology
//
// Declare declares, idempotently and again after every reconnect:
//
//   - a durable topic exchange (the topology's Exchange);
//   - a durable direct dead-letter exchange "<exchange>.dlx";
//   - per Queue: a durable queue (Options.QueueType, quorum by default; an
//     Unreplicated queue is classic) bound with its routing keys,
//     dead-lettering to the DLX with the queue name as routing key, and its
//     durable dead-letter queue bus.DLQName(queue).
//
// Quorum queues get x-delivery-limit = MaxAttempts-1 (the broker
// dead-letters a message that keeps coming back, even if the consumer
// crashes on it) and at-least-once dead-lettering, and count deliveries
// (x-delivery-count). Classic queues count nothing, so another attempt is a
// copy republished to the queue with the count (HeaderRetries), then the
// original acked.
//
// # Connections
//
// A driver keeps two AMQP connections, "<name>/publish" and
// "<name>/consume" (RabbitMQ blocks publishing connections under resource
// alarms; acks must not be stuck behind them). Each is redialled forever
// with capped, jittered exponential backoff until the driver is closed.
//
// Every message carries MessageId, CorrelationId (the order ID), the AMQP
// timestamp (whole seconds) and HeaderPublishedNS, the layer's first
// publish time in Unix nanoseconds.
package rabbitmq
