package natsnode

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/edabench/edabench/harness/brokernode"
)

// Consumer and stream metadata the NATS driver (targets/bus/nats) writes:
// JetStream names cannot hold the dots of a queue or exchange name, so the
// names travel as metadata, which /jsz shows with config=true.
const (
	MetaQueue    = "edabench.queue"
	MetaExchange = "edabench.exchange"
	// MetaAdvisories is on the consumer of the exchange's advisory stream
	// that reads one queue's max-deliveries advisories: it goes with the
	// queue, but is not its backlog.
	MetaAdvisories = "edabench.advisories"
)

// Varz is the part of /varz the node reads.
type Varz struct {
	ServerName string `json:"server_name"`
	Version    string `json:"version"`
}

// Jsz is the part of /jsz?accounts=true&streams=true&consumers=true&config=true
// the node reads: every stream's state and every consumer's backlog.
type Jsz struct {
	Streams  int    `json:"streams"`
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
	Accounts []struct {
		Streams []JszStream `json:"stream_detail"`
	} `json:"account_details"`
}

// JszStream is one stream of /jsz.
type JszStream struct {
	Name   string `json:"name"`
	Config struct {
		Metadata map[string]string `json:"metadata"`
	} `json:"config"`
	State struct {
		Messages uint64 `json:"messages"`
		Bytes    uint64 `json:"bytes"`
	} `json:"state"`
	Consumers []JszConsumer `json:"consumer_detail"`
}

// JszConsumer is one consumer of /jsz: NumPending are the messages not yet
// delivered, NumAckPending the delivered ones not yet acked.
type JszConsumer struct {
	Name   string `json:"name"`
	Config struct {
		Metadata map[string]string `json:"metadata"`
	} `json:"config"`
	NumPending    uint64 `json:"num_pending"`
	NumAckPending int64  `json:"num_ack_pending"`
	NumWaiting    int    `json:"num_waiting"`
	// NumRedelivered are the messages delivered more than once and not
	// yet acked.
	NumRedelivered int64 `json:"num_redelivered"`
}

// Queue is the edabench queue a consumer serves (its metadata), or its
// durable name for a consumer the driver did not create.
func (c JszConsumer) Queue() string {
	if q := c.Config.Metadata[MetaQueue]; q != "" {
		return q
	}
	return c.Name
}

func (n *Node) monitor(ctx context.Context, path string, into any) error {
	return GetJSON(ctx, n.AdminURL()+path, into)
}

// GetJSON reads one monitoring endpoint of a NATS server into into.
func GetJSON(ctx context.Context, url string, into any) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("nats monitoring %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("nats monitoring %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("nats monitoring %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("nats monitoring %s: %s: %.300s", url, resp.Status, body)
	}
	if into == nil {
		return nil
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("nats monitoring %s: %w", url, err)
	}
	return nil
}

func (n *Node) varz(ctx context.Context) (Varz, error) {
	var v Varz
	return v, n.monitor(ctx, "/varz", &v)
}

// healthy asks /healthz whether JetStream is enabled and its assets
// recovered (after a restart the server answers before its streams are
// back).
func (n *Node) healthy(ctx context.Context) error {
	return n.monitor(ctx, "/healthz", nil)
}

// JszPath is the /jsz query that lists every stream and consumer.
const JszPath = "/jsz?accounts=true&streams=true&consumers=true&config=true"

// Jsz reads the server's JetStream report.
func (n *Node) Jsz(ctx context.Context) (Jsz, error) {
	var j Jsz
	return j, n.monitor(ctx, JszPath, &j)
}

// QueueDepths is one entry per consumer the driver made, by queue name,
// from /jsz: Ready is what the consumer has not yet been handed
// (num_pending), Unacked what it was handed and has not acked
// (num_ack_pending), Consumers the pull requests waiting on it (a
// subscription keeps one outstanding while it has room).
func (n *Node) QueueDepths(ctx context.Context) (map[string]brokernode.QueueStat, error) {
	return depthsFrom(ctx, n.AdminURL())
}

func depthsFrom(ctx context.Context, adminURL string) (map[string]brokernode.QueueStat, error) {
	var j Jsz
	if err := GetJSON(ctx, adminURL+JszPath, &j); err != nil {
		return nil, err
	}
	out := map[string]brokernode.QueueStat{}
	for _, a := range j.Accounts {
		for _, s := range a.Streams {
			for _, c := range s.Consumers {
				q := c.Queue()
				out[q] = brokernode.QueueStat{Name: q, Ready: int64(c.NumPending), Unacked: c.NumAckPending,
					Messages: int64(c.NumPending) + c.NumAckPending, Consumers: c.NumWaiting}
			}
		}
	}
	return out, nil
}
