package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Admin is a RabbitMQ node's management API: this package's own node uses
// it, and so does the k6 extension for a node it only knows by URL, so
// that the API is read in one place (harness/broker) and nowhere else.
type Admin struct {
	URL            string // http://127.0.0.1:PORT, no trailing slash
	User, Password string
	// HTTP is the client to use; nil means http.DefaultClient with
	// mgmtTimeout per request.
	HTTP *http.Client

	name string // the node's name in errors; the URL when empty
}

// AdminFor is the management API at mgmtURL, with the credentials of
// amqpURL (guest/guest when it names none), as RabbitMQ's own tools take
// them.
func AdminFor(amqpURL, mgmtURL string) Admin {
	a := Admin{URL: mgmtURL, User: "guest", Password: "guest"}
	if u, err := amqp.ParseURI(amqpURL); err == nil && u.Username != "" {
		a.User, a.Password = u.Username, u.Password
	}
	return a
}

// QueueDepths returns every queue's depth. Keys are queue names for the
// default vhost "/" and "vhost/name" for any other.
//
// Message counts come from the queue totals (disable_stats), which are at
// most one collect_statistics_interval old; the regular stats view lags by
// a sample period on top of that. That view is still needed for the
// consumer count, which the totals omit, and consumers change rarely.
func (a Admin) QueueDepths(ctx context.Context) (map[string]QueueStat, error) {
	type queue struct {
		Name      string `json:"name"`
		Vhost     string `json:"vhost"`
		Messages  int64  `json:"messages"`
		Ready     int64  `json:"messages_ready"`
		Unacked   int64  `json:"messages_unacknowledged"`
		Consumers int    `json:"consumers"`
	}
	key := func(q queue) string {
		if q.Vhost == "/" {
			return q.Name
		}
		return q.Vhost + "/" + q.Name
	}
	var totals, stats []queue
	if err := a.get(ctx, "/api/queues?disable_stats=true&enable_queue_totals=true"+
		"&columns=name,vhost,messages,messages_ready,messages_unacknowledged", &totals); err != nil {
		return nil, err
	}
	if err := a.get(ctx, "/api/queues?columns=name,vhost,consumers", &stats); err != nil {
		return nil, err
	}
	consumers := make(map[string]int, len(stats))
	for _, q := range stats {
		consumers[key(q)] = q.Consumers
	}
	out := make(map[string]QueueStat, len(totals))
	for _, q := range totals {
		k := key(q)
		out[k] = QueueStat{Vhost: q.Vhost, Name: q.Name, Messages: q.Messages, Ready: q.Ready, Unacked: q.Unacked, Consumers: consumers[k]}
	}
	return out, nil
}

// get reads path from the API into v.
func (a Admin) get(ctx context.Context, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, mgmtTimeout)
	defer cancel()
	name := a.name
	if name == "" {
		name = a.URL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+path, nil)
	if err != nil {
		return fmt.Errorf("broker %s: management API: %w", name, err)
	}
	req.SetBasicAuth(a.User, a.Password)
	client := a.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("broker %s: management API: %w", name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("broker %s: management API %s: %w", name, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("broker %s: management API %s: %s: %s", name, path, resp.Status, lastLines(string(body), 3))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("broker %s: management API %s: decode: %w", name, path, err)
	}
	return nil
}
