// The smoke example (xk6-eda/examples/smoke.js) for k6-operator: the twin,
// its broker and the hdr directory come from the runner's environment
// (testrun-*.yaml). k6-operator splits the arrival rate across the
// runners (execution segments); each writes its own HDR interval logs,
// which `edabench merge --hlog` joins exactly.
import eda from "k6/x/eda";
import { check } from "k6";

export const options = {
  scenarios: {
    smoke: {
      executor: "constant-arrival-rate",
      rate: Number(__ENV.RATE || 200),
      timeUnit: "1s",
      duration: __ENV.DURATION || "60s",
      preAllocatedVUs: 20,
      maxVUs: 200,
    },
  },
  thresholds: {
    eda_orders_lost: ["count==0"],
    eda_orders_errored: ["count==0"],
  },
};

function clientOptions() {
  const o = { twin: __ENV.TWIN, grpc: __ENV.GRPC, completionTimeout: "30s", hdr: __ENV.HDR, trends: false };
  if (__ENV.TWIN !== "rr") {
    o.broker = __ENV.BROKER;
    o.brokerUrl = __ENV.BROKER_URL;
    if (__ENV.END_QUEUE) o.endQueue = __ENV.END_QUEUE;
    o.prefix = __ENV.PREFIX || "edabench";
  }
  return o;
}

const client = new eda.Client(clientOptions());

export default function () {
  const r = client.placeOrder();
  check(r, {
    "order placed": (r) => r.status === "ACCEPTED" || r.status === "COMPLETED" || r.status === "PAYMENT_CAPTURED",
  });
}
