package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edabench/edabench/targets/bus"
)

// pump polls at most the free prefetch slots and hands the records out,
// until the flow ends; it closes Deliveries when it returns.
func (s *subscription) pump() {
	defer close(s.pumped)
	defer close(s.out)
	for {
		n := s.waitRoom()
		if n == 0 {
			return
		}
		fs := s.cl.PollRecords(s.ctx, n)
		if fs.IsClientClosed() || s.ctx.Err() != nil {
			s.cl.AllowRebalance()
			return
		}
		fs.EachError(func(topic string, p int32, err error) {
			s.d.log.Warn("kafka: fetch failed; the client retries", "topic", topic, "partition", p, "err", err)
		})
		recs := fs.Records()
		parts := s.track(recs)
		s.logEnds(fs)
		// Rebalances wait until the records are handed out (into the
		// buffered Deliveries, at once), so a revoke always sees every
		// record this member holds.
		ok := s.handOut(recs, parts)
		s.cl.AllowRebalance()
		if !ok {
			return
		}
		if len(recs) == 0 && !bus.Sleep(s.ctx, 50*time.Millisecond) { // errors only: do not spin
			return
		}
	}
}

// logEnds records each fetched partition's log end (high watermark) and
// reports the group's lag.
func (s *subscription) logEnds(fs kgo.Fetches) {
	if s.d.opts.Metrics == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fs.EachPartition(func(f kgo.FetchTopicPartition) {
		if p := s.parts[topicPartition{f.Topic, f.Partition}]; p != nil && f.HighWatermark > p.hwm {
			p.hwm = f.HighWatermark
		}
	})
	s.reportLag()
}

// reportLag sets the queue's lag gauge to the sum over this member's
// partitions of log end minus the acked prefix; s.mu is held.
func (s *subscription) reportLag() {
	if s.d.opts.Metrics == nil {
		return
	}
	var n int64
	for _, p := range s.parts {
		n += p.lag()
	}
	s.d.opts.Metrics.consumerLag(s.queue, n)
}

// waitRoom returns how many records may be polled (0: the flow ended).
func (s *subscription) waitRoom() int {
	for {
		s.mu.Lock()
		n := s.prefetch - s.inflight
		s.mu.Unlock()
		if s.ctx.Err() != nil {
			return 0
		}
		if n > 0 {
			return n
		}
		select {
		case <-s.room:
		case <-s.ctx.Done():
			return 0
		}
	}
}

// track registers recs as in flight, each with its partition's tracker.
func (s *subscription) track(recs []*kgo.Record) []*partition {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts := make([]*partition, len(recs))
	for i, r := range recs {
		tp := topicPartition{r.Topic, r.Partition}
		p := s.parts[tp]
		if p == nil {
			p = newPartition()
			s.parts[tp] = p
		}
		p.add(r)
		parts[i] = p
	}
	s.inflight += len(recs)
	return parts
}

func (s *subscription) handOut(recs []*kgo.Record, parts []*partition) bool {
	for i, r := range recs {
		select {
		case s.out <- s.inbound(r, parts[i]):
		case <-s.ctx.Done():
			return false // not handed out, so never acked: delivered again
		}
	}
	return true
}

// inbound is r for the layer. Kafka keeps no delivery count: the count is
// the record's header, which only Retry raises, so a record delivered
// again after a crash shows the count of its last retry.
func (s *subscription) inbound(r *kgo.Record, p *partition) bus.Inbound {
	h := decode(r)
	return bus.Inbound{
		Queue: s.queue, RoutingKey: h.routingKey, Exchange: h.exchange, Body: r.Value,
		MessageID: h.messageID, CorrelationID: h.correlationID, Type: h.typ, ContentType: h.contentType,
		Headers: h.user, PublishedAt: h.publishedAt, DeliveryCount: h.deliveryCount,
		Ack: func() error { return s.settle(r, p) },
		Retry: func(ctx context.Context) (bool, error) {
			return s.forward(ctx, r, p, s.queue, h.deliveryCount+1)
		},
		DeadLetter: func() error {
			ctx, cancel := context.WithTimeout(s.d.ctx, settleTimeout)
			defer cancel()
			_, err := s.forward(ctx, r, p, bus.DLQName(s.queue), h.deliveryCount)
			return err
		},
	}
}

// settle acks r: its offset joins the acked prefix, which the next
// commit takes. It refuses once the subscription ended or r's partition
// was revoked: another member owns r now and will deliver it again.
func (s *subscription) settle(r *kgo.Record, p *partition) error {
	s.mu.Lock()
	s.inflight--
	select {
	case s.room <- struct{}{}:
	default:
	}
	var last *kgo.Record
	var err error
	switch {
	case s.ended:
		err = fmt.Errorf("kafka: %s[%d]@%d: the subscription ended before the ack; the record is delivered again", r.Topic, r.Partition, r.Offset)
	case s.parts[topicPartition{r.Topic, r.Partition}] != p:
		err = fmt.Errorf("kafka: %s[%d]@%d: partition revoked before the ack; its new owner delivers the record again", r.Topic, r.Partition, r.Offset)
	default:
		last = p.ack(r.Offset)
		if last != nil {
			p.next = last.Offset + 1
			s.reportLag()
		}
	}
	s.mu.Unlock()
	if last != nil {
		s.cl.MarkCommitRecords(last)
	}
	return err
}

// forward produces a copy of r to topic with the given delivery count
// and, once Kafka acknowledged it, acks r. A copy that fails ends the
// subscription: Kafka cannot give back one record, but the next member
// starts at the last commit, before r.
func (s *subscription) forward(ctx context.Context, r *kgo.Record, p *partition, topic string, count int) (bool, error) {
	if err := s.d.produce(ctx, copyTo(r, topic, count)); err != nil {
		s.end(fmt.Errorf("%w: kafka: copy of %s[%d]@%d to %s: %w", bus.ErrConnectionLost, r.Topic, r.Partition, r.Offset, topic, err))
		_ = s.settle(r, p) // frees the slot; refused, as the subscription ended
		return false, err
	}
	return true, s.settle(r, p)
}

// revoked commits what was acked before the partitions go to another
// member, which then starts right after it.
func (s *subscription) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	s.drop(revoked)
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		s.d.log.Warn("kafka: commit on revoke failed; the new owner gets those records again", "queue", s.queue, "err", err)
	}
}

// lostPartitions: the group moved them on without us (session expired),
// so nothing may be committed for them.
func (s *subscription) lostPartitions(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	s.drop(lost)
}

func (s *subscription) drop(tps map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for topic, ps := range tps {
		for _, p := range ps {
			delete(s.parts, topicPartition{topic, p})
		}
	}
}
