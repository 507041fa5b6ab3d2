// spike: a 5x surge and the drain, as the harness's spike scenario
// (scenarios/spike.yaml): 50/s, a 5 s surge to 250/s, back to 50/s.
// The EDA twin acknowledges fast and queues the surge (watch
// eda_queue_depth and eda_consumer_lag_seconds); the RR chain absorbs it in
// its reply times.
//
//   bin/k6 run -e TWIN=eda -e GRPC=127.0.0.1:7200 xk6-eda/examples/spike.js
//
// BASE and PEAK (orders/s) tune it.
import eda from "k6/x/eda";
import { check } from "k6";
import { clientOptions, placed } from "./common.js";

const base = Number(__ENV.BASE || 50);
const peak = Number(__ENV.PEAK || 250);

export const options = {
  scenarios: {
    spike: {
      executor: "ramping-arrival-rate",
      startRate: base,
      timeUnit: "1s",
      preAllocatedVUs: 20,
      maxVUs: 200,
      stages: [
        { target: base, duration: "10s" },
        { target: peak, duration: "1s" },
        { target: peak, duration: "5s" },
        { target: base, duration: "1s" },
        { target: base, duration: "20s" },
      ],
    },
  },
  thresholds: {
    eda_e2e_duration: ["p(50)<1000", "p(99)<10000"],
    eda_orders_lost: ["count==0"],
  },
};

const client = new eda.Client(clientOptions());

export default function () {
  const r = client.placeOrder();
  check(r, { "order placed": placed });
}
