// Shared by the examples: where the twin is, from the environment, so one
// script runs against any twin.
//
//   TWIN     rr | eda | hybrid                        (default eda)
//   GRPC     the twin gateway's gRPC address         (default 127.0.0.1:7100 rr, 127.0.0.1:7200 eda, 127.0.0.1:7300 hybrid)
//   BROKER   rabbitmq | kafka | nats, the twin's backbone (default rabbitmq)
//   BROKER_URL  the broker: amqp://... for RabbitMQ, HOST:PORT for Kafka, nats://HOST:PORT for NATS (default the private node of BROKER)
//   AMQP     RabbitMQ's name for BROKER_URL          (default the private node, amqp://guest:guest@127.0.0.1:5682/)
//   END_QUEUE  Kafka, NATS: the end queue the twin declared for k6 (--end-queue; default PREFIX.k6)
//   PREFIX   the twin's queue prefix, EDA and hybrid (default edabench)
//   MGMT     RabbitMQ management API, for eda_queue_depth (default http://127.0.0.1:15682)
//   METRICS  the services' /metrics URLs, comma separated, for eda_consumer_lag_seconds
//   HDR      a directory: also write k6.<twin>.ack.hgrm and k6.<twin>.e2e.hgrm there
//   COMPLETION_TIMEOUT  how long an accepted order may take before it counts lost (default 30s)
//
// `make k6-smoke` sets all of them for twins it starts itself.

export const twin = __ENV.TWIN || "eda";

const defaultGRPC = { rr: "127.0.0.1:7100", eda: "127.0.0.1:7200", hybrid: "127.0.0.1:7300" };

// overBroker: the twins whose orders end with an event on the broker
// (OrderCompleted under the twin's prefix), EDA and the hybrid; the
// extension listens for it with these options, and without the twin's own
// prefix every order would count lost.
export const overBroker = twin !== "rr";

export function clientOptions() {
  const o = {
    twin,
    completionTimeout: __ENV.COMPLETION_TIMEOUT || "30s",
  };
  const grpc = __ENV.GRPC || defaultGRPC[twin];
  if (grpc) o.grpc = grpc; // else the extension says which twins it knows
  if (overBroker) {
    if (__ENV.BROKER) o.broker = __ENV.BROKER;
    if (__ENV.BROKER_URL) o.brokerUrl = __ENV.BROKER_URL;
    if (__ENV.AMQP) o.amqp = __ENV.AMQP;
    if (__ENV.END_QUEUE) o.endQueue = __ENV.END_QUEUE;
    if (__ENV.PREFIX) o.prefix = __ENV.PREFIX;
    if (__ENV.MGMT) o.mgmt = __ENV.MGMT;
    if (__ENV.METRICS) o.metrics = __ENV.METRICS.split(",").filter((u) => u !== "");
  }
  if (__ENV.HDR) o.hdr = __ENV.HDR;
  return o;
}

// An order is placed when the twin answered; REJECTED and ERROR are not
// what a healthy twin answers. The hybrid answers PAYMENT_CAPTURED.
export function placed(r) {
  return r.status === "ACCEPTED" || r.status === "COMPLETED" || r.status === "PAYMENT_CAPTURED";
}
