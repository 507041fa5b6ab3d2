// Package nats is the bus driver for NATS JetStream, with nats.go's
// jetstream package.
//
// Layout. A topology's exchange (one twin) is three file-backed
// work-queue streams: EB_<exchange> for the queues' messages,
// EB_<exchange>_DLQ for their dead letters and EB_<exchange>_ADV for the
// max-deliveries advisories of the first one's consumers (names escaped to JetStream's alphabet; the
// original names ride as stream and consumer metadata, which
// harness/natsnode reads from /jsz). Each bus.Queue is a subject of the
// stream and a durable pull consumer filtered on it, with explicit acks,
// AckWait and MaxDeliver = the queue's MaxAttempts. JetStream has no
// exchange: the driver keeps the binding table (every twin service
// declares the whole, static topology) and stores a publish with routing
// key K on the subject of every queue whose bindings match K by the
// topic-exchange rule (bus.MatchesBinding). Headers carry the message and
// order IDs, type, content type, the first-publish time in ns, the
// routing key and the exchange; a publish's own headers travel as
// "h-NAME" strings.
//
// Publish. Every copy goes out with PublishMsgAsync (at most
// Options.MaxPending awaiting their PubAck per driver) and Publish
// returns nil once each copy's PubAck came: the stream has it. A copy
// carries Nats-Msg-Id MESSAGEID@QUEUE, so the layer's republish after a
// lost PubAck is stored once within the stream's duplicate window. The
// connection keeps no reconnect buffer: a publish while it is down fails
// at once with ErrConnectionLost, and one whose PubAck the drop took
// fails with ErrUnconfirmed too; the layer republishes after Reconnect.
//
// Consume. A subscription is one pull iterator on the queue's consumer
// (at most prefetch messages buffered, and at most prefetch handed out
// unsettled). Subscribe returns once the server holds a pull request of
// the consumer or the subscription got its first message. Ack acks,
// Retry naks (JetStream counts the delivery: DeliveryCount is
// NumDelivered-1, Redelivered NumDelivered > 1), DeadLetter stores a copy
// on the dead-letter subject (with the attempts made and a Nats-Msg-Id of
// its own) and then terminates the original. A subscription whose
// connection drops ends and refuses settles from then on: what it had
// out comes again after AckWait, as on RabbitMQ when a channel dies, and
// the layer subscribes again.
//
// Dead letters past MaxDeliver. A message whose consumers crashed on it
// MaxDeliver times is no longer delivered; JetStream publishes the
// max-deliveries advisory once, and EB_<exchange>_ADV stores it whether
// or not anyone listens. Each queue has a durable consumer there, which
// every driver subscribed to the queue pulls (one mover per driver and
// queue): the one handed the advisory copies the message to the
// dead-letter stream, deletes it from the queue's and only then acks the
// advisory, so an advisory sent while every service of the queue was
// down is moved once one is back, and a move cut short is done again,
// storing one dead letter (the copy's Nats-Msg-Id).
//
// Links. The client dials only the URLs it is given (it ignores the
// servers a cluster's INFO names), so a proxy in front of the node sees
// every byte of a service's broker link, reconnects included; it pings
// every Options.PingInterval and takes a link silent for two pings for
// dead, so a partition ends the connection instead of holding every
// publish until nats.go's own 2-minute pings give up.
package nats
