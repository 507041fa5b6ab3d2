package runner

import (
	"context"
	"os"
	"slices"
	"time"

	"github.com/edabench/edabench/harness/attack"
	"github.com/edabench/edabench/harness/completion"
	"github.com/edabench/edabench/harness/lag"
	"github.com/edabench/edabench/harness/procstat"
	"github.com/edabench/edabench/harness/staleness"
)

// observe starts what watches the twin besides the load: the order ends
// and the queues for a twin over the broker, and every process's CPU and
// memory.
func (t *twinRun) observe() error {
	if t.kind.UsesBroker() {
		if err := t.observeOrders(); err != nil {
			return err
		}
		if err := t.observeQueues(); err != nil {
			return err
		}
	}
	t.observeProcesses()
	return nil
}

// observeOrders subscribes to the twin's order ends (completion events).
func (t *twinRun) observeOrders() error {
	var opts []completion.Option
	if sh := t.r.o.Shard; sh.Sharded() {
		opts = append(opts, completion.WithQueue(completion.ShardQueueName(t.env.edaCfg, sh.I, sh.N)))
	}
	obs, err := completion.New(t.ctx, t.env.edaCfg, t.r.id, t.maxOrders, t.st.onEnd, t.log, opts...)
	if err != nil {
		return err
	}
	t.st.obs = obs
	t.onExit(func(ctx context.Context) {
		if t.r.o.Target == "" || t.env.edaCfg.EndQueue != "" {
			// deleteQueues takes the harness's queue with the twin's; a
			// running twin that declared it (EndQueue: Kafka) produces
			// to it, and keeps it.
			obs.Close()
			return
		}
		if err := obs.Delete(ctx); err != nil {
			t.log.Warn("deleting the harness's completion queue", "queue", completion.QueueName(t.env.edaCfg), "err", err)
		}
	})
	go obs.Run(t.ctx)
	// The load starts after observe: an order that ended while the harness
	// was still joining (a Kafka group's first assignment) would read late
	// by the join, not by the twin.
	wait := time.NewTimer(subscribeWait)
	defer wait.Stop()
	select {
	case <-obs.Subscribed():
	case <-t.ctx.Done():
		return t.ctx.Err()
	case <-wait.C:
		t.log.Warn("the harness's completion consumer is not subscribed yet; starting anyway", "waited", subscribeWait)
	}
	return nil
}

// subscribeWait bounds the wait for the completion consumer's first
// subscription; past it the run goes on (ends are durable: none is lost,
// the first ones only read late).
const subscribeWait = time.Minute

// observeQueues samples the depth and lag of the twin's queues each tick.
func (t *twinRun) observeQueues() error {
	var urls []string
	if tw := t.env.tw; tw != nil {
		for _, svc := range tw.Services() {
			urls = append(urls, "http://"+tw.HTTPAddr(svc)+"/metrics")
		}
	}
	var queues []string
	for _, q := range t.env.edaCfg.Queues() {
		if q.Name == t.env.edaCfg.EndQueue {
			continue // the harness's own: no service settles from it
		}
		queues = append(queues, q.Name)
	}
	node := t.r.node
	if node == nil && nodeDepthIsBacklog(t.r.o.Broker) {
		// An external twin's broker: sampled through the default node's
		// management API only if it is that node.
		node = openDefaultNode()
	} else if node == nil {
		n, err := externalNode(t.r.o.Broker, t.env.edaCfg.URL)
		if err != nil {
			return err
		}
		node = n
	}
	if node != nil && !nodeDepthIsBacklog(t.r.o.Broker) {
		// The harness's own queue too: the node's figure for it is every
		// record the topic holds, never 0, and with it no faulted run over
		// Kafka was ever quiescent (each drained to its bound, 60 s in
		// TestFaultsUnderLoad). Its group's backlog is what RabbitMQ's
		// ready + unacked says.
		g, err := newGroupDepthNode(t.ctx, node, t.env.edaCfg, append(slices.Clone(queues), completion.QueueName(t.env.edaCfg)))
		if err != nil {
			return err
		}
		t.onExit(func(context.Context) {
			if err := g.Close(); err != nil {
				t.log.Debug("closing the queue depth reader", "err", err)
			}
		})
		node = g
	}
	t.env.lagSrc = lag.NewSource(node, queues, urls)
	if node != nil {
		t.env.node, t.env.harnessQueue = node, completion.QueueName(t.env.edaCfg)
	}
	if cp, ok := t.env.lagSrc.(lag.Checkpointer); ok && t.env.inj != nil && t.env.tw != nil {
		// A killed service's counts since the last tick would die with it.
		tw := t.env.tw
		t.env.inj.BeforeDown(func(svc string) {
			err := cp.Checkpoint(t.ctx, "http://"+tw.HTTPAddr(svc)+"/metrics")
			t.log.Debug("queue depth: a last reading of a service's counters before its fault", "service", svc, "err", err)
		})
	}
	t.env.sampler = lag.NewSampler(t.env.lagSrc, tick, nil)
	go t.env.sampler.Run(t.ctx)
	return nil
}

// observeProcesses meters the harness, each service and the broker node
// until collect stops it, after the drain.
func (t *twinRun) observeProcesses() {
	m := procstat.NewMeter(tick)
	t.env.meter = m
	m.Track("harness", os.Getpid)
	if tw := t.env.tw; tw != nil {
		for _, svc := range tw.Services() {
			m.Track(svc, func() int {
				if p := tw.Process(svc); p != nil && !p.Exited() {
					return p.PID()
				}
				return 0
			})
		}
		if t.kind.UsesBroker() && t.r.node != nil {
			trackBroker(m, t.r.node)
		}
	}
	ctx, stop := context.WithCancel(context.WithoutCancel(t.ctx))
	t.stopMeter, t.meterDone = stop, make(chan struct{})
	t.onExit(func(context.Context) { stop() })
	t.billFrom = t.r.bill.Read()
	go func() { m.Run(ctx); close(t.meterDone) }()
}

// connect opens the load's gRPC connections to the gateway and the
// staleness probe beside them.
func (t *twinRun) connect() error {
	sc := t.r.o.Scenario
	atk, err := attack.NewGRPC(t.env.gateway, t.r.id, t.r.o.Conns, attack.WithTimeout(sc.Timeout), attack.WithAllow(t.r.o.Allow))
	if err != nil {
		return err
	}
	t.onExit(func(context.Context) { atk.Close() })
	t.attacker = inFlightAttacker{Attacker: atk, n: &t.st.inFlight}
	// The probe reads from the gateway like any client would; its reads
	// are bounded to ~20 orders/s so they stay a small share of the load.
	t.st.stale, err = staleness.New(t.ctx, t.env.gateway, t.name+".staleness", staleness.WithAllow(t.r.o.Allow))
	if err != nil {
		return err
	}
	t.st.runID = t.r.id
	return nil
}
