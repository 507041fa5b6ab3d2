// Package kafka is the bus driver for Apache Kafka, with franz-go.
//
// Layout. A bus.Queue is a consumer's inbox, so it is a topic of its own,
// QUEUE, with its dead-letter topic QUEUE.dlq (Options.Partitions
// partitions, created with the broker's replication factor and
// min.insync.replicas: one replica on the single private node, three with
// two in sync on the private cluster). Kafka has no exchange: the driver keeps the topology's binding
// table (every twin service declares the whole, static topology) and
// produces a publish with routing key K to every queue topic whose
// bindings match K by the topic-exchange rule (bus.MatchesBinding), which
// is what RabbitMQ's exchange does. Records are keyed by the order ID
// (CorrelationID), so an order's events stay ordered in one partition
// and are handed out in that order (the layer's handler concurrency may
// still run two of them at once, as with a RabbitMQ prefetch above one).
// Headers carry the message and order IDs, type, content type, the
// first-publish time in ns, the routing key, the exchange and the
// delivery count; a publish's own headers travel as "h-NAME" strings.
//
// Publish. One idempotent producer per driver, acks=all; Publish returns
// nil once Kafka acknowledged every copy of the fan-out. franz-go retries
// a batch on a new connection with the same producer sequence numbers,
// which the broker deduplicates: that is one write, not a republish, so
// the driver never writes a message twice on its own. When the client
// gives up, Publish reports ErrConnectionLost with ErrUnconfirmed and the
// layer republishes after Reconnect.
//
// Consume. One consumer group per queue (group ID = queue name): every
// service consuming a queue is a member of its group. A subscription is
// one member on a client of its own, with at most prefetch records in
// flight. Offsets are committed only for what the layer acked, in order
// per partition: the driver marks the last record of each partition's
// acked prefix and franz-go commits the marks every second, on revoke and
// on Close. A record the layer retries is produced again to the queue's
// topic with its delivery count plus one, then the original is acked (a
// copied retry); a dead-lettered one is produced to QUEUE.dlq, then acked.
//
// Redelivery. Kafka keeps no delivery count: the count is the header,
// which only a retry raises, so a record delivered again after a crash
// or a lost connection shows the count of its last retry; the layer's
// bound still holds, since every failed attempt goes through a retry.
// For the same reason Inbound.Redelivered is always false: no broker
// flag says a record was handed out before.
// A subscription whose connection fails ends (its acks are refused from
// then on), and the layer subscribes again: the new member starts at the
// last commit, so the records in flight come again, as on RabbitMQ when
// a channel dies. On a rebalance (a service restarting) the member
// commits what was acked before giving its partitions up; the records it
// still had in flight go to the new owner, and the idempotent consumers
// absorb the duplicates.
package kafka
