// smoke: a steady, light load; every order must complete.
//
//   bin/k6 run -e TWIN=rr -e GRPC=127.0.0.1:7100 xk6-eda/examples/smoke.js
//   bin/k6 run -e TWIN=eda -e GRPC=127.0.0.1:7200 xk6-eda/examples/smoke.js
//   make k6-smoke     # starts the broker and both twins, runs this against each
//
// RATE (orders/s, default 50) and DURATION (default 30s) tune it.
import eda from "k6/x/eda";
import { check } from "k6";
import { clientOptions, placed } from "./common.js";

export const options = {
  scenarios: {
    smoke: {
      executor: "constant-arrival-rate",
      rate: Number(__ENV.RATE || 50),
      timeUnit: "1s",
      duration: __ENV.DURATION || "30s",
      preAllocatedVUs: 10,
      maxVUs: 50,
    },
  },
  thresholds: {
    eda_e2e_duration: ["p(50)<1000", "p(99)<5000"],
    eda_orders_lost: ["count==0"],
    eda_orders_errored: ["count==0"],
    checks: ["rate==1"],
  },
};

const client = new eda.Client(clientOptions());

export default function () {
  const r = client.placeOrder();
  check(r, { "order placed": placed });
}
