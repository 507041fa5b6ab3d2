// soak: a constant rate for a long time. k6 keeps every Trend sample in
// memory (k6 issues #763 and #4670), so for hours at high rates set HDR to
// a directory: the extension then records ack and end-to-end latency in
// fixed-memory HDR histograms only (trends: false), writes
// k6.<twin>.ack.hgrm and k6.<twin>.e2e.hgrm there at the end, in the
// harness's format, to compare file to file with `edabench run --scenario
// soak`, and reports the run's p50 and p99 so far as the gauges
// eda_ack_p50/p99 and eda_e2e_p50/p99, which the thresholds check. Only
// k6's own iteration_duration still keeps a value per iteration.
//
//   bin/k6 run -e TWIN=eda -e HDR=results/k6-soak -e DURATION=30m xk6-eda/examples/soak.js
//
// RATE (orders/s, default 100) and DURATION (default 10m) tune it.
import eda from "k6/x/eda";
import { check } from "k6";
import { clientOptions, placed } from "./common.js";

const hdr = Boolean(__ENV.HDR);

export const options = {
  scenarios: {
    soak: {
      executor: "constant-arrival-rate",
      rate: Number(__ENV.RATE || 100),
      timeUnit: "1s",
      duration: __ENV.DURATION || "10m",
      preAllocatedVUs: 20,
      maxVUs: 100,
    },
  },
  thresholds: Object.assign(
    hdr
      ? { eda_e2e_p50: ["value<500"], eda_e2e_p99: ["value<5000"] }
      : { eda_e2e_duration: ["p(50)<500", "p(99)<5000"] },
    { eda_orders_lost: ["count==0"], eda_orders_errored: ["count==0"] },
  ),
};

const client = new eda.Client(Object.assign(clientOptions(), { trends: !hdr }));

export default function () {
  const r = client.placeOrder();
  check(r, { "order placed": placed });
}
