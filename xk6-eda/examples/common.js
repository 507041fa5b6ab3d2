// Shared by the examples: where the twin is, from the environment, so one
// script runs against either twin.
//
//   TWIN     rr | eda                               (default eda)
//   GRPC     the twin gateway's gRPC address         (default 127.0.0.1:7200 for eda, 127.0.0.1:7100 for rr)
//   AMQP     the broker, EDA twin only               (default the private node, amqp://guest:guest@127.0.0.1:5682/)
//   PREFIX   the EDA twin's queue prefix             (default edabench)
//   MGMT     RabbitMQ management API, for eda_queue_depth (default http://127.0.0.1:15682)
//   METRICS  the EDA services' /metrics URLs, comma separated, for eda_consumer_lag_seconds
//   HDR      a directory: also write k6.<twin>.ack.hgrm and k6.<twin>.e2e.hgrm there
//   COMPLETION_TIMEOUT  how long an accepted order may take before it counts lost (default 30s)
//
// `make k6-smoke` sets all of them for twins it starts itself.

export const twin = __ENV.TWIN || "eda";

export function clientOptions() {
  const o = {
    twin,
    grpc: __ENV.GRPC || (twin === "rr" ? "127.0.0.1:7100" : "127.0.0.1:7200"),
    completionTimeout: __ENV.COMPLETION_TIMEOUT || "30s",
  };
  if (twin === "eda") {
    if (__ENV.AMQP) o.amqp = __ENV.AMQP;
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
