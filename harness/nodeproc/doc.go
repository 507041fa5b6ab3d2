// Package nodeproc is what the private broker nodes (harness/broker for
// RabbitMQ, harness/kafkanode for Kafka) share about running a node as a
// detached process on this machine: the flock that serialises starting and
// stopping it, its pid file and the liveness check that tells it from a
// later process with the same PID (/proc/PID/stat's start time), the
// "port in use by pid N (comm)" finder, and the env-or-default config
// helpers. What a node knows about its own broker (RabbitMQ's CLI and
// epmd, Kafka's JVM and KRaft) stays in its package; the messages here
// take the broker's name or hint from the caller, so each node still names
// itself and its fix.
package nodeproc
