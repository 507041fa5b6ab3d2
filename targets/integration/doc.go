// Package integration holds the twins' end-to-end tests: every service its
// own OS process, real gRPC over loopback TCP, and a real private RabbitMQ
// node. It has no non-test code.
package integration
