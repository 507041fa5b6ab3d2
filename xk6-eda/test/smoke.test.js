// The k6 extension registry's smoke test: the module loads and exports
// what index.d.ts declares. Dependency-free: no twin, no broker, no
// network (the Client connects at its first order, which this never
// places). A failed check fails the run (the threshold), so k6 exits
// non-zero.
//
//   bin/k6 run xk6-eda/test/smoke.test.js
import eda from "k6/x/eda";
import { check } from "k6";

export const options = {
  vus: 1,
  iterations: 1,
  thresholds: { checks: ["rate==1"] },
};

const client = new eda.Client({ twin: "rr", grpc: "127.0.0.1:7100" });

export default function () {
  check(eda, {
    "eda.Client is a constructor": (m) => typeof m.Client === "function",
    "eda.queueDepth is a function": (m) => typeof m.queueDepth === "function",
    "eda.consumerLag is a function": (m) => typeof m.consumerLag === "function",
  });
  check(client, {
    "client.placeOrder is a function": (c) => typeof c.placeOrder === "function",
    "client.pending is a function": (c) => typeof c.pending === "function",
    "client.close is a function": (c) => typeof c.close === "function",
    "client.twin is rr": (c) => c.twin === "rr",
    "nothing pending before any order": (c) => c.pending() === 0,
  });
}
