package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/edabench/edabench/harness/claims"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
)

// Leftovers is what the node holds that no running process owns.
type Leftovers struct {
	Live []Record // claims whose owners still run
	Dead []Record // claims whose owners are gone
	// DeadQueues are queues a dead claim covers and no live one does.
	DeadQueues []string
	// Unclaimed queues and exchanges are covered by no claim at all: left by
	// a process that never recorded them (an older binary, a test that
	// declares directly), or declared by one that is running right now.
	// Only an explicit `brokerctl clean --unclaimed` deletes them.
	Unclaimed          []string
	UnclaimedExchanges []string
}

// inventory is the default vhost's queues and exchanges, the only vhost
// edabench uses; the broker's own exchanges (amq.*, the nameless one) are
// left out.
type inventory struct{ queues, exchanges []string }

func (n *Node) inventory(ctx context.Context) (inventory, error) {
	type named struct {
		Name  string `json:"name"`
		Vhost string `json:"vhost"`
	}
	var qs, xs []named
	if err := n.mgmtGet(ctx, "/api/queues?disable_stats=true&columns=name,vhost", &qs); err != nil {
		return inventory{}, err
	}
	if err := n.mgmtGet(ctx, "/api/exchanges?columns=name,vhost", &xs); err != nil {
		return inventory{}, err
	}
	var inv inventory
	for _, q := range qs {
		if q.Vhost == "/" {
			inv.queues = append(inv.queues, q.Name)
		}
	}
	for _, x := range xs {
		if x.Vhost == "/" && x.Name != "" && !strings.HasPrefix(x.Name, "amq.") {
			inv.exchanges = append(inv.exchanges, x.Name)
		}
	}
	sort.Strings(inv.queues)
	sort.Strings(inv.exchanges)
	return inv, nil
}

// Exchanges lists the default vhost's exchanges, without the broker's own
// (amq.*, the nameless one): what runs and tests declared.
func (n *Node) Exchanges(ctx context.Context) ([]string, error) {
	inv, err := n.inventory(ctx)
	return inv.exchanges, err
}

// Leftovers reads the claims and the node's queues and sorts them into
// what live processes own and what nobody does.
func (n *Node) Leftovers(ctx context.Context) (Leftovers, error) {
	recs, rerr := n.Records()
	inv, err := n.inventory(ctx)
	if err != nil {
		return Leftovers{}, errors.Join(err, rerr)
	}
	return classify(recs, inv), rerr
}

func classify(recs []Record, inv inventory) Leftovers {
	var l Leftovers
	for _, r := range recs {
		if r.Alive() {
			l.Live = append(l.Live, r)
		} else {
			l.Dead = append(l.Dead, r)
		}
	}
	claimedBy := func(rs []Record, name string, exchange bool) bool {
		return slices.ContainsFunc(rs, func(r Record) bool {
			if exchange {
				return claimsExchange(r.Topology, name)
			}
			return claimsQueue(r.Topology, name)
		})
	}
	for _, q := range inv.queues {
		switch {
		case claimedBy(l.Live, q, false):
		case claimedBy(l.Dead, q, false):
			l.DeadQueues = append(l.DeadQueues, q)
		default:
			l.Unclaimed = append(l.Unclaimed, q)
		}
	}
	for _, x := range inv.exchanges {
		if !claimedBy(l.Live, x, true) && !claimedBy(l.Dead, x, true) {
			l.UnclaimedExchanges = append(l.UnclaimedExchanges, x)
		}
	}
	return l
}

// Clean deletes the topologies of claims whose owners are gone, then their
// records; with unclaimed, also every queue and exchange no claim covers.
// It never deletes a name a live claim covers. It returns what it found
// before deleting.
func (n *Node) Clean(ctx context.Context, unclaimed bool) (Leftovers, error) {
	recs, rerr := n.Records()
	inv, err := n.inventory(ctx)
	if err != nil {
		return Leftovers{}, errors.Join(err, rerr)
	}
	l := classify(recs, inv)
	errs := []error{rerr}
	for _, r := range l.Dead {
		if err := n.deleteClaimed(ctx, r.Topology, inv, l.Live); err != nil {
			errs = append(errs, fmt.Errorf("delete the topology of dead pid %d: %w", r.PID, err))
			continue // keep the record for the next try
		}
		if err := claims.Remove(r.Path); err != nil {
			errs = append(errs, err)
		}
	}
	if unclaimed && (len(l.Unclaimed) > 0 || len(l.UnclaimedExchanges) > 0) {
		t := Topology{Queues: l.Unclaimed, Exchanges: l.UnclaimedExchanges}
		if err := n.deleteClaimed(ctx, t, inv, l.Live); err != nil {
			errs = append(errs, fmt.Errorf("delete unclaimed queues: %w", err))
		}
	}
	return l, errors.Join(errs...)
}

// sweep is Clean without unclaimed, run at every Start: it must never make
// the start fail, so it only logs.
func (n *Node) sweep(ctx context.Context) {
	recs, err := n.Records()
	if err != nil {
		logger().WarnContext(ctx, "broker: unreadable claim records", "err", err)
	}
	if !slices.ContainsFunc(recs, func(r Record) bool { return !r.Alive() }) {
		return // the common case costs a directory read, no API call
	}
	l, err := n.Clean(ctx, false)
	if err != nil {
		logger().WarnContext(ctx, "broker: could not delete every topology of runs that are gone; `brokerctl status` lists them",
			"node", n.cfg.Name, "err", err)
	}
	if len(l.Dead) > 0 {
		logger().InfoContext(ctx, "broker: deleted the topologies of runs that are gone",
			"node", n.cfg.Name, "owners", len(l.Dead), "queues", len(l.DeadQueues))
	}
}

// deleteTopology deletes what t covers on the node, except what another
// live claim covers; skip is the caller's own record.
func (n *Node) deleteTopology(ctx context.Context, t Topology, skip func(Record) bool) error {
	recs, rerr := n.Records()
	if rerr != nil {
		logger().DebugContext(ctx, "broker: unreadable claim records", "err", rerr)
	}
	var live []Record
	for _, r := range recs {
		if (skip == nil || !skip(r)) && r.Alive() {
			live = append(live, r)
		}
	}
	inv, err := n.inventory(ctx)
	if err != nil {
		return err
	}
	return n.deleteClaimed(ctx, t, inv, live)
}

// deleteClaimed deletes the queues and exchanges of inv that t covers
// through rabbitmq.Delete, the same path twins delete their own topology by.
func (n *Node) deleteClaimed(ctx context.Context, t Topology, inv inventory, live []Record) error {
	pick := func(have []string, covers func(Topology, string) bool) map[string]bool {
		set := map[string]bool{}
		for _, name := range have {
			protected := slices.ContainsFunc(live, func(r Record) bool { return covers(r.Topology, name) })
			if covers(t, name) && !protected {
				set[name] = true
			}
		}
		return set
	}
	queues := withoutDerived(pick(inv.queues, claimsQueue), bus.DLQName(""))
	exchanges := withoutDerived(pick(inv.exchanges, claimsExchange), ".dlx")
	var errs []error
	if len(queues) > 0 {
		errs = append(errs, rabbitmq.DeleteQueues(ctx, n.AMQPURL(), "", queues...))
	}
	for _, x := range exchanges {
		errs = append(errs, rabbitmq.DeleteQueues(ctx, n.AMQPURL(), x))
	}
	return errors.Join(errs...)
}

// withoutDerived drops a dead-letter queue (exchange) whose queue
// (exchange) is in set too: rabbitmq.Delete takes it along.
func withoutDerived(set map[string]bool, suffix string) []string {
	var out []string
	for name := range set {
		if base, ok := strings.CutSuffix(name, suffix); ok && set[base] {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
