// fidelity: the two ways k6 holds a rate, for the latency-fidelity part of
// `make bench-instrument` (harness/cmd/instrument), which freezes the twin's
// gateway for a second mid-run and compares each tool's p99 with what the
// schedule implies.
//
//   EXECUTOR=constant-vus           VUS closed loops, each pacing itself at
//                                   RATE/VUS orders/s with a sleep (think time)
//   EXECUTOR=constant-arrival-rate  RATE/s started on schedule while a VU is
//                                   free, up to MAX_VUS (default 50, as smoke.js)
//
//   bin/k6 run -e TWIN=rr -e GRPC=127.0.0.1:7100 -e EXECUTOR=constant-vus xk6-eda/examples/fidelity.js
//
// RATE (default 200), VUS (default 10), DURATION (default 10s).
import eda from "k6/x/eda";
import { sleep } from "k6";
import { clientOptions } from "./common.js";

const rate = Number(__ENV.RATE || 200);
const vus = Number(__ENV.VUS || 10);
const duration = __ENV.DURATION || "10s";
const executor = __ENV.EXECUTOR || "constant-arrival-rate";

const scenario =
  executor === "constant-vus"
    ? { executor, vus, duration }
    : { executor, rate, timeUnit: "1s", duration, preAllocatedVUs: vus, maxVUs: Number(__ENV.MAX_VUS || 50) };

export const options = {
  scenarios: { fidelity: scenario },
  // p(99) and count: the instrument reads them from --summary-export.
  summaryTrendStats: ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)", "count"],
};

const client = new eda.Client(clientOptions());

export default function () {
  client.placeOrder();
  if (executor === "constant-vus") sleep(vus / rate);
}
