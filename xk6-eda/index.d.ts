/**
 * xk6-eda: place orders on an edabench twin from k6 and measure what k6's
 * own grpc module cannot see: when each order completed end to end, how
 * many were lost, how deep the EDA twin's queues are and how far its
 * consumers trail.
 *
 * ```js
 * import eda from "k6/x/eda";
 *
 * const client = new eda.Client({ twin: "eda", grpc: "127.0.0.1:7200" });
 *
 * export default function () {
 *   const r = client.placeOrder();            // { orderId, status, ackMs }
 * }
 * ```
 *
 * Metrics (all tagged with the VU's tags and `twin`):
 *
 * | metric                       | type              | what                                                                 |
 * |------------------------------|-------------------|----------------------------------------------------------------------|
 * | `eda_ack_duration`           | Trend (ms)        | until PlaceOrder replied                                             |
 * | `eda_e2e_duration`           | Trend (ms)        | until the order completed: the reply (RR), OrderCompleted seen (EDA, hybrid) |
 * | `eda_orders_placed`          | Counter           | PlaceOrder calls                                                     |
 * | `eda_orders_completed`       | Counter           | orders seen complete within their completion timeout                 |
 * | `eda_orders_rejected`        | Counter           | REJECTED replies and OrderFailed events (EDA, hybrid)                 |
 * | `eda_orders_lost`            | Counter           | accepted, but not complete within completionTimeout or by test end   |
 * | `eda_orders_errored`         | Counter           | PlaceOrder failed with a gRPC error (tag `code`); fate unknown        |
 * | `eda_orders_completed_late`  | Counter           | completions seen after the order was already counted lost             |
 * | `eda_queue_depth`            | Gauge             | EDA: each queue's messages (ready + unacked), each second, tag `queue`|
 * | `eda_consumer_lag_seconds`   | Gauge             | EDA: each queue's consumer lag as its service reports it, tag `queue` |
 * | `eda_ack_p50`, `eda_ack_p99` | Gauge (ms)        | with `hdr`: the run's ack quantiles so far, each second and at the end |
 * | `eda_e2e_p50`, `eda_e2e_p99` | Gauge (ms)        | with `hdr`: the run's end-to-end quantiles so far, likewise          |
 *
 * Every placed order ends exactly one of completed, rejected, lost or errored.
 */

declare module "k6/x/eda" {
  /** Options of `new eda.Client(...)`. */
  export interface ClientOptions {
    /** Which twin: "rr" (gRPC call chain), "eda" (RabbitMQ choreography) or "hybrid" (payment over gRPC, the rest as events; its orders end like EDA's). Required. */
    twin: "rr" | "eda" | "hybrid";
    /** The twin gateway's gRPC address, loopback only, e.g. "127.0.0.1:7200". Required; the first order connects to it. */
    grpc: string;
    /** EDA, hybrid: the twin's backbone (its `--broker`). Default "rabbitmq". */
    broker?: "rabbitmq" | "kafka" | "nats";
    /**
     * EDA, hybrid: the broker the twin uses, in the broker's form: RabbitMQ
     * "amqp://USER:PASS@127.0.0.1:PORT/", Kafka the seed "127.0.0.1:PORT",
     * NATS "nats://127.0.0.1:PORT". Default: the private node of `broker`
     * ("amqp://guest:guest@127.0.0.1:5682/", "127.0.0.1:9102",
     * "nats://127.0.0.1:4232"). Loopback only.
     */
    brokerUrl?: string;
    /** EDA, hybrid over RabbitMQ: another name for brokerUrl (refused with broker "kafka" or "nats"). */
    amqp?: string;
    /**
     * EDA, hybrid over Kafka or NATS: the queue of order ends the twin declared for
     * k6 (its services' `--end-queue`). Default "<prefix>.k6". The twin's
     * driver produces only to queues its services declared, so the first
     * order fails, naming `--end-queue`, when the twin has none of that name.
     * One k6 process per end queue at a time: two would split its partitions.
     */
    endQueue?: string;
    /** EDA, hybrid: the twin's exchange and queue prefix (`--prefix`). Default "edabench". */
    prefix?: string;
    /** How long an accepted order may take to complete before it counts lost: "30s", "500ms", or milliseconds. Default "30s". */
    completionTimeout?: string | number;
    /** Deadline of each PlaceOrder call. Default "10s". */
    requestTimeout?: string | number;
    /**
     * A directory: also record ack and end-to-end latency in fixed-memory HDR
     * histograms and write `<dir>/k6.<twin>.ack.hgrm` and `<dir>/k6.<twin>.e2e.hgrm`
     * at the end of the test, in the harness's format, and report the run's
     * p50 and p99 so far once a second as the gauges eda_ack_p50, eda_ack_p99,
     * eda_e2e_p50 and eda_e2e_p99 (ms; threshold them with "value<500").
     */
    hdr?: string;
    /**
     * Push a sample to the Trends eda_ack_duration and eda_e2e_duration for
     * every order. Default true. k6 keeps every Trend sample in memory (it
     * grows without bound in a soak); false keeps latency in the hdr
     * histograms and their gauges only, and needs hdr.
     */
    trends?: boolean;
    /** EDA, hybrid over RabbitMQ: its management API, for eda_queue_depth. Default "http://127.0.0.1:15682" (the private node); "" disables. Over Kafka the depths (each queue's consumer-group backlog) come from brokerUrl, and mgmt is refused. */
    mgmt?: string;
    /** EDA, hybrid: every service's /metrics URL, for eda_consumer_lag_seconds. Default none (no lag gauge). */
    metrics?: string[];
  }

  /** What `placeOrder` returns once the twin replied. */
  export interface PlaceOrderResult {
    /** The order's ID (generated unless given). */
    orderId: string;
    /** The reply: COMPLETED (RR), ACCEPTED (EDA), PAYMENT_CAPTURED (hybrid), REJECTED, or ERROR when the call failed. */
    status: "ACCEPTED" | "COMPLETED" | "PAYMENT_CAPTURED" | "REJECTED" | "ERROR";
    /** Milliseconds until the reply. */
    ackMs: number;
    /** REJECTED: the twin's reason; ERROR: the gRPC error message. */
    reason: string;
    /** ERROR: the gRPC status code name, e.g. "Unavailable". */
    code: string;
  }

  /** An order to place; every field is optional (a generated order by default). */
  export interface Order {
    /** Unique per order; generated when absent. */
    orderId?: string;
    /** Default "k6". */
    customer?: string;
    /** At least one item; default [{ sku: "sku-1", quantity: 1 }]. */
    items?: { sku: string; quantity: number }[];
    /** Whole cents >= 0; default 1999. */
    amountCents?: number;
    /** A retry of the same order carries the same key. */
    idempotencyKey?: string;
  }

  /**
   * A client of one twin. Construct it in the init context; every VU with the
   * same twin, grpc, amqp and prefix shares one completion subscription and
   * one gauge sampler. Bad options (unknown twin, non-loopback address,
   * malformed URL) throw at once; the constructor opens no connection (so
   * `k6 inspect` and `k6 archive` need no twin): the first placeOrder does,
   * and if the gateway or the broker is unreachable it ends the test with a
   * message naming the address.
   */
  export class Client {
    constructor(options: ClientOptions);
    /**
     * Places one order and blocks the VU until the twin replies. RR: the reply
     * is the completion. EDA: the completion is matched by order ID in the
     * background. Only in the VU context; a malformed order throws.
     */
    placeOrder(order?: Order): PlaceOrderResult;
    /** Orders this process placed that await completion (all VUs sharing the client). */
    pending(): number;
    /**
     * Releases this VU's share. The last share settles the orders in flight
     * (waiting up to completionTimeout), writes the HDR files and closes the
     * connections. Optional: the end of the test does the same.
     */
    close(): void;
    /** The twin this client drives. */
    readonly twin: "rr" | "eda" | "hybrid";
  }

  /** Where `queueDepth` and `consumerLag` look; defaults come from the VU's last EDA client. */
  export interface ProbeOptions {
    broker?: "rabbitmq" | "kafka" | "nats";
    brokerUrl?: string;
    mgmt?: string;
    amqp?: string;
    prefix?: string;
    metrics?: string[];
  }

  /**
   * A queue's messages (ready + unacknowledged) from RabbitMQ's management
   * API; over Kafka its consumer group's backlog (log end minus the group's
   * committed offset, committed each second); over NATS its consumer's
   * pending + ack-pending messages (the server's /jsz). In the VU context only (setup, default, teardown), not the init context.
   * `queue` is a full name ("edabench.payment") or a service ("payment").
   * Throws when the queue does not exist.
   */
  export function queueDepth(queue: string, options?: ProbeOptions): number;

  /**
   * In the VU context only. The time lag, in seconds, of the latest message the queue's consumer took,
   * as the service reports it (edabench_consumer_lag_last_seconds); null when
   * no service reports the queue. Needs the services' metrics URLs.
   */
  export function consumerLag(queue: string, options?: ProbeOptions): number | null;

  const eda: {
    Client: typeof Client;
    queueDepth: typeof queueDepth;
    consumerLag: typeof consumerLag;
  };
  export default eda;
}
