package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/edabench/edabench/harness/audit"
	"github.com/edabench/edabench/harness/fault"
	"github.com/edabench/edabench/harness/hops"
	"github.com/edabench/edabench/harness/scrape"
	"github.com/edabench/edabench/targets/ops"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/attack"
	"github.com/edabench/edabench/harness/broker"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/completion"
	"github.com/edabench/edabench/harness/executor"
	"github.com/edabench/edabench/harness/lag"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/procstat"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/staleness"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/hybrid"
	"github.com/edabench/edabench/targets/workflow"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func codesOf(err error) codes.Code { return status.Code(err) }

// Runner runs one scenario.
type Runner struct {
	o       Options
	dir, id string
	node    *broker.Node
	live    *liveMetrics
	sum     *results.Summary
	csv     *strings.Builder
}

// Run runs the scenario on every twin, one after the other, and writes the
// results folder. It returns the summary and the folder even when it
// failed or was interrupted part-way: what was measured is kept, marked
// partial.
func Run(ctx context.Context, opts ...Option) (*results.Summary, string, error) {
	var o Options
	for _, f := range opts {
		f(&o)
	}
	if err := o.defaults(); err != nil {
		return nil, "", err
	}
	if err := checkExternal(ctx, o); err != nil {
		return nil, "", err
	}
	r := &Runner{o: o, csv: &strings.Builder{}}
	label := strings.Join(o.Twins, "-") + "-" + o.Scenario.Name
	dir, id, err := results.NewRunDir(o.OutDir, label, time.Now())
	if err != nil {
		return nil, "", err
	}
	r.dir, r.id = dir, id
	r.sum = &results.Summary{SchemaVersion: results.SchemaVersion, RunID: id, StartedAt: time.Now().UTC(),
		Scenario: o.Scenario, Environment: environment(ctx), Twins: map[string]*results.TwinResult{}}
	r.csv.WriteString(csvHeader())

	runErr := r.run(ctx)
	if runErr != nil || ctx.Err() != nil {
		r.sum.Partial = true
		switch {
		case ctx.Err() != nil:
			r.sum.PartialReason = "interrupted (" + context.Cause(ctx).Error() + ") during the run; figures cover what ran until then"
		default:
			r.sum.PartialReason = runErr.Error()
		}
	}
	r.sum.EndedAt = time.Now().UTC()
	if err := r.writeSummary(); err != nil {
		return r.sum, dir, errors.Join(runErr, err)
	}
	return r.sum, dir, runErr
}

func (r *Runner) run(ctx context.Context) error {
	o := r.o
	fmt.Fprintf(o.Progress, "edabench: scenario %s (%s), twins %s, results in %s\n", o.Scenario.Name,
		fmtDur(o.Scenario.TotalDuration()), strings.Join(o.Twins, ", "), r.dir)
	if o.MetricsAddr != "off" {
		lm, addr, err := startLiveMetrics(ctx, o.MetricsAddr)
		if err != nil {
			return err
		}
		r.live = lm
		fmt.Fprintf(o.Progress, "edabench: live metrics at http://%s/metrics\n", addr)
		// For a Prometheus with file SD (make observe, the dashboards' test).
		rm, err := launch.WriteFileSD(launch.FileSDDir(), "harness", []string{addr}, r.sdLabels())
		if err != nil {
			o.Log.Warn("file SD for the harness", "err", err)
		}
		defer rm()
	}
	needBroker := o.Target == "" && slices.ContainsFunc(o.Twins, func(n string) bool { return twinkind.Of(n).UsesBroker() })
	if needBroker {
		fmt.Fprintln(o.Progress, "edabench: starting the private RabbitMQ node...")
		cfg := broker.DefaultConfig()
		if o.Broker != nil {
			cfg = *o.Broker
		}
		node, err := broker.Start(ctx, cfg)
		if err != nil {
			return fmt.Errorf("the private RabbitMQ node did not start: %w (see `make broker-up` for the same start by hand)", err)
		}
		r.node = node
		r.sum.Environment.RabbitMQ = rabbitVersion(ctx)
	}
	if o.Target == "" && o.Binary == "" {
		bin, err := r.targetBinary(ctx)
		if err != nil {
			return err
		}
		r.o.Binary = bin
	}
	for _, twin := range o.Twins {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := r.runTwin(ctx, twin)
		if res != nil {
			r.sum.Twins[twin] = res
		}
		if err != nil {
			return fmt.Errorf("%s twin: %w", twin, err)
		}
	}
	return nil
}

// sdLabels are the target labels Prometheus adds to every series of this
// run's targets (dashboards' run and scenario variables).
func (r *Runner) sdLabels() map[string]string {
	return map[string]string{"run": r.id, "scenario": r.o.Scenario.Name}
}

// targetBinary prefers the target built beside edabench (make build puts
// both in bin/), and otherwise builds one from the source tree.
func (r *Runner) targetBinary(ctx context.Context) (string, error) {
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "target"); isFile(p) {
			return p, nil
		}
	}
	fmt.Fprintln(r.o.Progress, "edabench: building the target binary...")
	bin, err := launch.BuildTarget(ctx, r.dir)
	if err != nil {
		return "", fmt.Errorf("%w; or run `make build` and use bin/edabench, or pass --binary PATH", err)
	}
	return bin, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// watch ends the twin's run when svc exits, unless a fault killed it.
func (r *Runner) watch(ctx context.Context, cancel context.CancelCauseFunc, env *twinEnv, twin, svc string) {
	for {
		p := env.tw.Process(svc)
		select {
		case <-ctx.Done():
			return
		case <-p.Done():
		}
		if env.inj == nil || !env.inj.Deliberate(svc) {
			cancel(fmt.Errorf("%s service %s exited unexpectedly (%v); its log: %s", twin, svc, p.ExitErr(), p.LogPath()))
			return
		}
		for env.tw.Process(svc) == p {
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// twinEnv is what runTwin sets up around the load.
type twinEnv struct {
	inj     *fault.Injector
	tw      *launch.Twin
	gateway string
	edaCfg  eda.Config
	lagSrc  lag.Source
	sampler *lag.Sampler
	meter   *procstat.Meter
}

func (r *Runner) runTwin(parent context.Context, twin string) (*results.TwinResult, error) {
	o, sc := r.o, r.o.Scenario
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	log := o.Log.With("twin", twin)
	env := &twinEnv{gateway: o.Target}
	prefix := fmt.Sprintf("eb%08x", rand.Uint32())
	if o.Target != "" && twinkind.Of(twin).UsesBroker() {
		prefix = o.Prefix
	}
	amqpURL := o.AMQPURL
	if r.node != nil {
		amqpURL = r.node.AMQPURL()
	}
	env.edaCfg = eda.DefaultConfig()
	env.edaCfg.AMQPURL, env.edaCfg.Prefix = amqpURL, prefix
	env.edaCfg.Topology, env.edaCfg.Steps = workflow.Topology(sc.Topology), sc.StepCount()
	if twinkind.Of(twin).HandsOff() {
		env.edaCfg = hybrid.EDAConfig(env.edaCfg)
	}

	release := r.claimTopology(ctx, twin, env.edaCfg) // before anything is declared
	defer release(context.WithoutCancel(parent))
	if o.Target == "" {
		fmt.Fprintf(o.Progress, "edabench: starting the %s twin (%s, %d steps)...\n", twin, sc.Topology, sc.StepCount())
		var proxies *hops.Set
		if fault.NeedsProxies(sc.Faults) {
			proxies = hops.New(log)
			// Closed after the twin stopped (defers run last-in first-out),
			// so no service sees its hop vanish while it still runs.
			defer func() {
				if err := proxies.Close(context.WithoutCancel(parent)); err != nil {
					log.Warn("stopping the network proxies", "err", err)
				}
			}()
		}
		tw, err := launch.Start(ctx, launch.Spec{Twin: twin, Topology: workflow.Topology(sc.Topology), Binary: o.Binary, BinaryArgs: o.BinaryArgs,
			Dir: r.dir, AMQPURL: amqpURL, Prefix: prefix, Cost: sc.Cost, Seed: o.Seed, Steps: sc.StepCount(), Hops: proxies})
		if err != nil {
			return nil, err
		}
		env.tw, env.gateway = tw, tw.GatewayAddr()
		rmSD, err := launch.WriteFileSDGroups(launch.FileSDDir(), twin, tw.FileSDGroups(r.sdLabels()))
		if err != nil {
			log.Warn("file SD for the services", "err", err)
		}
		defer rmSD()
		defer func() {
			if err := tw.Stop(context.WithoutCancel(parent)); err != nil {
				log.Warn("stopping the twin", "err", err)
			}
			if twinkind.Of(twin).UsesBroker() && r.node != nil {
				deleteQueues(context.WithoutCancel(parent), amqpURL, env.edaCfg)
			}
		}()
		if len(sc.Faults) > 0 {
			// A nil *broker.Node must stay a nil interface for fault.Env.
			var node brokernode.Node
			if twinkind.Of(twin).UsesBroker() && r.node != nil {
				node = r.node
			}
			env.inj = fault.New(sc.Faults, tw, node, log)
			// Undone on every way out of this function; Stop is idempotent.
			defer env.inj.Stop(context.WithoutCancel(parent))
		}
		// A child that dies on its own ends the run, marked partial: its
		// figures would be meaningless from then on. One a fault killed is
		// expected back, and watched again once it is.
		for _, svc := range tw.Services() {
			go r.watch(ctx, cancel, env, twin, svc)
		}
	}

	stages := sc.LoadStages()
	var phases []string
	for _, st := range stages {
		phases = append(phases, st.Name)
	}
	workers := sc.MaxInFlight
	seconds := int((sc.TotalDuration()+sc.Drain+sc.Timeout)/time.Second) + 5
	sched, err := sc.Schedule(o.Seed)
	if err != nil {
		return nil, err
	}
	maxOrders := int64(sched.Expected()*1.5) + 10000
	exec, err := executor.Builtin().Get(sc.Executor())
	if err != nil {
		return nil, err
	}
	st := newTwinState(twin, time.Now(), phases, workers, seconds, maxOrders)

	if twinkind.Of(twin).UsesBroker() {
		obs, err := completion.New(ctx, env.edaCfg, r.id, maxOrders, st.onEnd, log)
		if err != nil {
			return nil, err
		}
		st.obs = obs
		defer func() {
			if o.Target == "" {
				obs.Close() // deleteQueues takes the harness's queue with the twin's
				return
			}
			if err := obs.Delete(context.WithoutCancel(ctx)); err != nil {
				log.Warn("deleting the harness's completion queue", "queue", completion.QueueName(env.edaCfg), "err", err)
			}
		}()
		go obs.Run(ctx)
		var urls []string
		if env.tw != nil {
			for _, svc := range env.tw.Services() {
				urls = append(urls, "http://"+env.tw.HTTPAddr(svc)+"/metrics")
			}
		}
		var queues []string
		for _, q := range env.edaCfg.Queues() {
			queues = append(queues, q.Name)
		}
		node := r.node
		if node == nil {
			// An external twin's broker: sampled through the default node's
			// management API only if it is that node.
			node, _ = broker.Open(broker.DefaultConfig())
		}
		env.lagSrc = lag.NewSource(node, queues, urls)
		env.sampler = lag.NewSampler(env.lagSrc, tick, nil)
		go env.sampler.Run(ctx)
	}

	env.meter = procstat.NewMeter(tick)
	env.meter.Track("harness", os.Getpid)
	if env.tw != nil {
		for _, svc := range env.tw.Services() {
			env.meter.Track(svc, func() int {
				if p := env.tw.Process(svc); p != nil && !p.Exited() {
					return p.PID()
				}
				return 0
			})
		}
		if twinkind.Of(twin).UsesBroker() && r.node != nil {
			env.meter.TrackTree("broker", r.node.PID)
		}
	}
	meterCtx, stopMeter := context.WithCancel(context.WithoutCancel(ctx))
	meterDone := make(chan struct{})
	go func() { env.meter.Run(meterCtx); close(meterDone) }()

	atk, err := attack.NewGRPC(env.gateway, r.id, o.Conns, attack.WithTimeout(sc.Timeout))
	if err != nil {
		stopMeter()
		return nil, err
	}
	defer atk.Close()
	// The probe reads from the gateway like any client would; its reads
	// are bounded to ~20 orders/s so they stay a small share of the load.
	if st.stale, err = staleness.New(ctx, env.gateway, twin+".staleness"); err != nil {
		stopMeter()
		return nil, err
	}
	st.runID = r.id

	// Everything is in place: time zero, for the schedule, the recorders'
	// first interval and the interval logs alike.
	st.start = time.Now()
	for _, rec := range st.recs {
		rec.SetStart(st.start)
	}
	if env.inj != nil {
		env.inj.Start(ctx, st.start)
	} else if len(sc.Faults) > 0 {
		stopMeter()
		return nil, fmt.Errorf("%w: the scenario injects faults, which needs the twin started by edabench, not --target", ErrInvalid)
	}
	tk := newTicker(r, st, env, stages)
	if r.live != nil {
		r.live.run.track(twin, tk, st)
	}
	tkCtx, stopTicker := context.WithCancel(context.WithoutCancel(ctx))
	tkDone := make(chan struct{})
	go func() { tk.run(tkCtx); close(tkDone) }()

	out, err := exec.Run(ctx, executor.Plan{Stages: stages, Arrival: sc.Arrival, Seed: o.Seed, Start: st.start,
		Attacker: inFlightAttacker{Attacker: atk, n: &st.inFlight}, Handle: st.handle(twinkind.Of(twin).EndsAtReply()),
		// MaxRequests holds the schedule inside the bitsets sized for it.
		Options: []load.Option{load.WithMaxInFlight(sc.MaxInFlight), load.WithWorkers(workers), load.WithMaxRequests(maxOrders)},
		Begin:   st.tl.begin,
		Judge:   func(ctx context.Context, stage load.Stage) (bool, string) { return r.stepHeld(ctx, st, tk, stage) },
	})
	loadErr := err
	stats, knee := out.Stats, out.Knee
	loadEnd := time.Now()
	st.tl.begin("drain", loadEnd)

	res := &results.TwinResult{ErrorsByCode: map[string]int64{}, Knee: knee}
	res.MaxDispatchLateMs = ms(stats.MaxLateness)
	if env.inj != nil {
		// Undo what is still in effect before draining: the drain measures
		// the twin catching up, not the fault.
		if err := env.inj.Stop(context.WithoutCancel(ctx)); err != nil {
			log.Error("a fault could not be undone", "err", err)
		}
	}
	if twinkind.Of(twin).UsesBroker() && ctx.Err() == nil {
		fmt.Fprintf(o.Progress, "edabench: %s: load done; draining (up to %v)...\n", twin, sc.Drain)
		drainStart := time.Now()
		res.Orders.DrainMs = r.drain(ctx, st, sc.Drain)
		if twinkind.Of(twin).HandsOff() && env.tw != nil {
			// A hand-off unconfirmed at its reply is published again in
			// the background: its order is in flight until it is.
			waitHandoffs(ctx, env.tw, sc.Drain-time.Since(drainStart), log)
		}
		// Orders whose PlaceOrder timed out may still be in the queues
		// (their OrderPlaced was published after all): the audit waits
		// until nothing is left in flight, within the same bound.
		if left := sc.Drain - time.Since(drainStart); left > 0 {
			if _, err := lag.WaitDrained(ctx, env.lagSrc, 0, left); err != nil {
				log.Warn("queues not empty at the end of the drain; the audit counts what is still in flight", "err", err)
			}
		}
	}
	if twinkind.Of(twin).Compensates() && env.tw != nil && st.total.errors.Load()+st.total.timeouts.Load() > 0 {
		// Compensations of failed calls (RR's, the hybrid's of payment) may
		// still be retrying in the background: wait until the effects in
		// force stop changing.
		settle(ctx, env.tw, sc.Drain)
	}
	if env.tw != nil {
		actx := context.WithoutCancel(ctx)
		res.Steps = stepLatencies(actx, env.tw)
		res.Audit = r.audit(actx, st, env)
	}
	stopTicker()
	<-tkDone
	tk.flush(time.Now())
	stopMeter()
	<-meterDone
	r.fill(res, st, env, stats, loadEnd, tk)
	stale := st.stale.Close()
	res.Staleness = &stale
	if res.Audit != nil {
		res.Audit.DeadLettered = res.Lag.DeadLettered
	}
	if env.inj != nil {
		res.Faults = faultWindows(st, tk, env)
	}
	if loadErr != nil {
		return res, loadErr
	}
	if stats.Partial && ctx.Err() == nil {
		return res, errors.New("the load stopped before its schedule ended")
	}
	if err := context.Cause(ctx); err != nil && parent.Err() == nil {
		return res, err
	}
	return res, nil
}

// stepHeld judges one ramp step: p99 of its end-to-end latency under the
// SLO, and its error rate under the limit. For the EDA twin, orders of the
// step still incomplete a moment after it count against it: a backlog that
// grows is a step the twin did not sustain, whatever its acks say.
func (r *Runner) stepHeld(ctx context.Context, st *twinState, tk *ticker, stage load.Stage) (bool, string) {
	slo := r.o.Scenario.SLO
	ph := st.phases[stage.Name]
	if st.obs != nil {
		grace := min(2*slo.P99, 2*time.Second)
		t := time.NewTimer(grace)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	his := tk.cutPhase(stage.Name, time.Now())
	sent := ph.sent.Load()
	if sent == 0 {
		return false, "no request was sent"
	}
	failed := ph.errors.Load() + ph.timeouts.Load() + ph.dropped.Load()
	if rate := float64(failed) / float64(sent); rate > slo.MaxErrorRate {
		return false, fmt.Sprintf("%d of %d requests failed or were dropped at %.0f/s (limit %.1f%%)", failed, sent, stage.To, 100*slo.MaxErrorRate)
	}
	h := his[mAck]
	if st.obs != nil {
		h = his[mE2E]
		accepted := ph.ok.Load()
		if outstanding := accepted - ph.ended.Load(); accepted > 0 && float64(outstanding)/float64(accepted) > 0.01 {
			return false, fmt.Sprintf("%d of %d orders accepted at %.0f/s still incomplete after the step: the backlog grows", outstanding, accepted, stage.To)
		}
	}
	if p99 := time.Duration(h.ValueAtQuantile(99)) * time.Microsecond; p99 > slo.P99 {
		return false, fmt.Sprintf("p99 %v above the SLO %v at %.0f/s", p99.Round(100*time.Microsecond), slo.P99, stage.To)
	}
	return true, ""
}

// drain waits until every accepted order has ended (or the bound), and
// returns how long that took in ms (-1 when it never happened).
func (r *Runner) drain(ctx context.Context, st *twinState, bound time.Duration) float64 {
	start := time.Now()
	end := start.Add(bound)
	for {
		if st.endedAccepted.Load() >= st.total.ok.Load() {
			return ms(time.Since(start))
		}
		if time.Now().After(end) || ctx.Err() != nil {
			return -1
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (r *Runner) fill(res *results.TwinResult, st *twinState, env *twinEnv, stats load.Stats, loadEnd time.Time, tk *ticker) {
	res.Counts = st.total.counts()
	for c := range st.codes {
		if n := st.codes[c].Load(); n > 0 {
			res.ErrorsByCode[codes.Code(c).String()] = n
		}
	}
	loadSecs := loadEnd.Sub(st.start).Seconds()
	res.LoadSeconds = loadSecs
	if loadSecs > 0 {
		res.OfferedRPS = float64(res.Sent) / loadSecs
		res.AchievedRPS = float64(res.OK+res.Rejected) / loadSecs
	}
	tot := tk.totals()
	res.Ack, res.AckUncorrected = record.Summarize(tot[mAck]), record.Summarize(tot[mAckU])
	if st.obs == nil {
		// The RR twin's reply is the order's end.
		res.E2E, res.E2EUncorrected = res.Ack, res.AckUncorrected
		res.Orders.Accepted = res.OK + res.Rejected
		res.Orders.Completed, res.Orders.Failed = res.OK, res.Rejected
	} else {
		res.E2E, res.E2EUncorrected = record.Summarize(tot[mE2E]), record.Summarize(tot[mE2EU])
		res.Orders.Accepted = res.OK
		st.accepted.Each(func(seq uint64) {
			switch seen, completed := st.obs.End(seq); {
			case !seen:
				res.Orders.Lost++
			case completed:
				res.Orders.Completed++
			default:
				res.Orders.Failed++
			}
		})
		res.Orders.DuplicateEnds = st.obs.Duplicates()
	}
	for _, rec := range st.recs {
		res.Clamped += rec.Clamped()
	}
	res.Phases = map[string]*results.PhaseResult{}
	for name, pc := range st.phases {
		if pc.sent.Load() == 0 {
			continue // a ramp step never reached
		}
		pr := &results.PhaseResult{Counts: pc.counts()}
		if his := tk.phase(name); his != nil {
			pr.Ack = record.Summarize(his[mAck])
			pr.E2E = record.Summarize(his[mE2E])
			if st.obs == nil {
				pr.E2E = pr.Ack
			}
		}
		pr.Seconds = tk.phaseSeconds(name)
		if pr.Seconds > 0 {
			pr.OfferedRPS = float64(pr.Sent) / pr.Seconds
			pr.AchievedRPS = float64(pr.OK+pr.Rejected) / pr.Seconds
		}
		res.Phases[name] = pr
	}
	if env.sampler != nil {
		res.Lag = lag.Analyze(env.sampler.Samples(), loadEnd)
	}
	res.Usage = env.meter.Usage()
	var cpu float64
	for name, u := range res.Usage {
		if name != "harness" {
			cpu += u.CPUSeconds
		}
	}
	if res.Orders.Completed > 0 {
		res.CPUPerOrderMs = 1000 * cpu / float64(res.Orders.Completed)
	}
	if res.Sent > 0 {
		res.GeneratorCPUPer1k = 1000 * res.Usage["harness"].CPUSeconds / float64(res.Sent)
	}
}

func (p *phaseCounts) counts() results.Counts {
	return results.Counts{Sent: p.sent.Load(), OK: p.ok.Load(), Rejected: p.rejected.Load(), Errors: p.errors.Load(),
		Timeouts: p.timeouts.Load(), Dropped: p.dropped.Load()}
}

// writeSummary writes summary.json, the histograms and the time series.
func (r *Runner) writeSummary() error {
	var errs []error
	errs = append(errs, results.WriteJSON(filepath.Join(r.dir, "summary.json"), r.sum))
	errs = append(errs, results.WriteFile(filepath.Join(r.dir, "timeseries.csv"), func(w io.Writer) error {
		_, err := io.WriteString(w, r.csv.String())
		return err
	}))
	errs = append(errs, results.LinkLatest(r.o.OutDir, r.dir))
	return errors.Join(errs...)
}

func deleteQueues(ctx context.Context, url string, cfg eda.Config) {
	if err := eda.DeleteTopology(ctx, url, cfg, completion.QueueName(cfg)); err != nil {
		slog.Debug("delete the twin's queues", "err", err)
	}
}

// stepLatencies reads each step service's own step-duration histogram.
func stepLatencies(ctx context.Context, tw *launch.Twin) map[string]results.StepLatency {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	client := &http.Client{}
	out := map[string]results.StepLatency{}
	for _, st := range tw.Spec().Plan().Steps() {
		p := tw.Process(string(st))
		if p == nil || p.Exited() {
			continue
		}
		fams, err := scrape.Families(ctx, client, "http://"+p.Ready().HTTP+"/metrics")
		if err != nil {
			continue
		}
		var h scrape.Histogram
		for _, m := range fams[workflow.MetricStepDuration].GetMetric() {
			if scrape.Label(m, "outcome") == "applied" {
				h.Add(m.GetHistogram())
			}
		}
		if h.Count == 0 {
			continue
		}
		out[string(st)] = results.StepLatency{Count: h.Count, MeanMs: 1000 * h.Sum / float64(h.Count),
			P50Ms: 1000 * h.Quantile(0.5), P99Ms: 1000 * h.Quantile(0.99)}
	}
	return out
}

// audit reconciles the client's outcomes with every step's journal.
func (r *Runner) audit(ctx context.Context, st *twinState, env *twinEnv) *audit.Report {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	plan := env.tw.Spec().Plan()
	addrs := map[workflow.Step]string{}
	for _, s := range plan.Steps() {
		if p := env.tw.Process(string(s)); p != nil && !p.Exited() {
			addrs[s] = p.Ready().HTTP
		}
	}
	entries, missing := audit.Fetch(ctx, &http.Client{}, addrs)
	var ended audit.Ended
	if st.obs != nil {
		ended = st.obs.End
	}
	rep := audit.Check(r.id, plan.Len(), st.ledger, ended, entries)
	for _, s := range plan.Steps() {
		if _, ok := addrs[s]; !ok {
			missing = append(missing, string(s)+" (not running)")
		}
	}
	rep.Unaudited = missing
	return &rep
}

// waitHandoffs waits, up to bound, until the hybrid gateway has no
// hand-off left to publish.
func waitHandoffs(ctx context.Context, tw *launch.Twin, bound time.Duration, log *slog.Logger) {
	end := time.Now().Add(bound)
	client := &http.Client{Timeout: 2 * time.Second}
	for ctx.Err() == nil {
		fams, err := scrape.Families(ctx, client, "http://"+tw.HTTPAddr("gateway")+"/metrics")
		pending := 0.0
		for _, m := range fams[hybrid.MetricPendingHandoffs].GetMetric() {
			pending += m.GetGauge().GetValue()
		}
		if err == nil && pending == 0 {
			return
		}
		if time.Now().After(end) {
			log.Warn("hand-offs still being published at the end of the drain; the audit counts their payments as orphaned", "pending", pending, "err", err)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// settle waits, up to bound, until the RR twin's effects in force have not
// changed for three polls in a row (1.5 s).
func settle(ctx context.Context, tw *launch.Twin, bound time.Duration) {
	end := time.Now().Add(bound)
	client := &http.Client{Timeout: 2 * time.Second}
	last, same := -1, 0
	for time.Now().Before(end) && ctx.Err() == nil {
		total := 0
		for _, s := range tw.Spec().Plan().Steps() {
			p := tw.Process(string(s))
			if p == nil || p.Exited() {
				continue
			}
			resp, err := client.Get("http://" + p.Ready().HTTP + "/audit?totals=1")
			if err != nil {
				continue
			}
			var a ops.Audit
			if json.NewDecoder(resp.Body).Decode(&a) == nil {
				total += a.Steps[s].InForce
			}
			resp.Body.Close()
		}
		if total == last {
			if same++; same >= 3 {
				return
			}
		} else {
			last, same = total, 0
		}
		time.Sleep(500 * time.Millisecond)
	}
}
