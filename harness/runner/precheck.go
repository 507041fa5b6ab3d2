package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/brokernodes"
	"github.com/edabench/edabench/harness/completion"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/bus/drivers"
	"github.com/edabench/edabench/targets/eda"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// probeTimeout bounds each pre-load check: a loopback peer that has not
// answered in this long will not carry a load either.
const probeTimeout = 3 * time.Second

// checkExternal makes sure a twin the user started (--target, --broker-url) is
// there and is an edabench twin before anything starts: otherwise the whole
// schedule would run against it and end as a table of Unavailable.
func checkExternal(ctx context.Context, o Options) error {
	if o.Target == "" {
		return nil
	}
	if err := CheckGateway(ctx, o.Target); err != nil {
		return fmt.Errorf("%w: --target %s: %w", ErrInvalid, o.Target, err)
	}
	if !twinkind.Of(o.Twins[0]).UsesBroker() {
		return nil
	}
	if o.Broker != "" && !nodeDepthIsBacklog(o.Broker) {
		if err := CheckRoutedTwin(ctx, o.Broker, o.BrokerURL, o.Prefix); err != nil {
			return fmt.Errorf("%w: --broker-url %s: %w", ErrInvalid, o.BrokerURL, err)
		}
		return nil
	}
	broker := o.Broker
	if broker == "" {
		broker = brokernode.Default
	}
	if err := CheckBroker(ctx, broker, o.BrokerURL); err != nil {
		return fmt.Errorf("%w: --broker-url (--amqp) %s: %w", ErrInvalid, redactURL(o.BrokerURL), err)
	}
	return nil
}

// CheckRoutedTwin says whether the broker node at url (a broker whose
// driver routes itself: Kafka, NATS) answers and holds the queues of a
// twin running with prefix, its harness end queue among them: such a
// driver delivers an order's end only to the queues its services
// declared, so a twin started without --end-queue PREFIX.harness would
// leave every order unobserved (counted lost). The queues are read
// through the broker's node kind (brokernode.Kind.Depths), so a new
// backbone needs nothing here.
func CheckRoutedTwin(ctx context.Context, broker, url, prefix string) error {
	kind, err := brokernodes.Builtin().Lookup(broker)
	if err != nil {
		return err
	}
	addr, err := firstAddr(url)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, probeTimeout)
	err = dialTCP(dctx, addr)
	cancel()
	if err != nil {
		return fmt.Errorf("%w; start the running twin's broker (go run ./harness/cmd/brokerctl up --broker %s) or fix the URL", err, broker)
	}
	// After the dial: that nothing listens is the likelier mistake, and the
	// node kind may refuse a URL whose admin endpoint it cannot tell.
	r, err := kind.Depths(url, "")
	if err != nil {
		return err
	}
	qctx, cancel := context.WithTimeout(ctx, 2*probeTimeout)
	defer cancel()
	queues, err := r.QueueDepths(qctx)
	if err != nil {
		return fmt.Errorf("something listens there but the %s node's queue depths did not answer (%w): is it a %s broker?", broker, err, broker)
	}
	cfg := eda.Config{Prefix: prefix}
	if !hasTopic(queues, cfg.QueueName("gateway")) {
		return fmt.Errorf("no queue %s: no twin runs there with --prefix %s; pass the running twin's --prefix", cfg.QueueName("gateway"), prefix)
	}
	if q := completion.QueueName(cfg); !hasTopic(queues, q) {
		return fmt.Errorf("the twin with --prefix %s declares no queue %s, so it would produce no order end the harness can see: start its services with --end-queue %s (edabench serve -h)", prefix, q, q)
	}
	return nil
}

// firstAddr is the HOST:PORT the client URL raw dials first: the host of
// the first of a comma-separated list (Kafka's seeds, NATS's servers),
// with or without a scheme.
func firstAddr(raw string) (string, error) {
	s := strings.TrimSpace(strings.Split(raw, ",")[0])
	if !strings.Contains(s, "://") {
		s = "tcp://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q names no HOST:PORT to dial", raw)
	}
	host := u.Host
	if _, port, err := net.SplitHostPort(host); err != nil || port == "" {
		return "", fmt.Errorf("%q names no HOST:PORT to dial (want a port, e.g. 127.0.0.1:4232)", raw)
	}
	return host, nil
}

func hasTopic[V any](topics map[string]V, name string) bool {
	_, ok := topics[name]
	return ok
}

// CheckGateway says whether addr is an edabench gateway: something listens,
// speaks gRPC, and lists edabench's OrderService through server reflection
// (every gateway registers it). The error says what was found and the fix.
func CheckGateway(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if err := dialTCP(ctx, addr); err != nil {
		return fmt.Errorf("%w; start the twin (bin/target or edabench serve, see their --help) or fix the address", err)
	}
	services, err := listServices(ctx, addr)
	if err != nil {
		return err
	}
	want := orderpb.OrderService_ServiceDesc.ServiceName
	if !slices.Contains(services, want) {
		return fmt.Errorf("a gRPC server serving %v but not %s: not an edabench gateway; pass the gateway's address (the grpc address on its EDABENCH_READY line)", services, want)
	}
	return nil
}

// dialTCP tells "nothing listens" apart from the rest, as its own message.
func dialTCP(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("nothing listens there (connection refused)")
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer to a TCP connect within %v", probeTimeout)
	case err != nil:
		return fmt.Errorf("cannot connect: %w", err)
	}
	return c.Close()
}

// listServices asks addr's server reflection for the services it serves.
func listServices(ctx context.Context, addr string) ([]string, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("gRPC client: %w", err)
	}
	defer conn.Close()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	var resp *reflectionpb.ServerReflectionResponse
	if err == nil {
		// A Send that finds the stream ended says only io.EOF; Recv has
		// the status the server ended it with (Unimplemented, say).
		err = stream.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
		if err == nil || errors.Is(err, io.EOF) {
			resp, err = stream.Recv()
		}
	}
	switch status.Code(err) {
	case codes.OK:
	case codes.Unimplemented:
		return nil, errors.New("a gRPC server without server reflection: not an edabench gateway (every gateway has it); pass the gateway's address")
	case codes.Unavailable, codes.DeadlineExceeded:
		return nil, fmt.Errorf("something listens there but does not answer gRPC (%v): not an edabench gateway; pass the gateway's address", status.Convert(err).Message())
	default:
		return nil, fmt.Errorf("server reflection failed: %w", err)
	}
	_ = stream.CloseSend()
	if e := resp.GetErrorResponse(); e != nil {
		return nil, fmt.Errorf("server reflection failed: %s", e.GetErrorMessage())
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names, nil
}

// CheckBroker says whether broker's broker at rawURL accepts a client
// connection with the URL's credentials (its driver's Kind.Handshake).
func CheckBroker(ctx context.Context, broker, rawURL string) error {
	kind, err := drivers.Builtin().Lookup(broker)
	if err != nil {
		return err
	}
	if err := kind.CheckURL(rawURL); err != nil {
		return err
	}
	addrs := kind.Addrs(rawURL)
	if len(addrs) == 0 {
		return fmt.Errorf("%q names no address; %s", rawURL, kind.URLIs)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if err := dialTCP(ctx, addrs[0]); err != nil {
		return fmt.Errorf("%s: %w; start the running twin's broker or fix the URL", addrs[0], err)
	}
	if kind.Handshake == nil {
		return nil
	}
	if err := kind.Handshake(rawURL, probeTimeout); err != nil {
		return fmt.Errorf("%s listens but %w", addrs[0], err)
	}
	return nil
}

// redactURL hides a URL's password in messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}
