// Command bareclient is the floor `make bench-instrument` holds edabench
// to (issue 21, part 6): a bare open-loop grpc-go client. It calls
// PlaceOrder at a constant rate for a duration, each call on its own
// goroutine at its intended time whether or not earlier calls returned,
// over edabench's 4 connections with its 5 s deadline and its order, and
// keeps nothing but each call's latency (from its intended send time) in a
// slice. What edabench does beyond that (Poisson arrivals, HDR recording,
// per-second series, its observers) is what the CPU ratio prices.
//
//	bareclient --target 127.0.0.1:7100 --rate 1000 --duration 30s --out bare.json
//
// The JSON written is the instrument's toolResult.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/edabench/edabench/internal/loopback"
	"github.com/edabench/edabench/targets/api/orderpb"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bareclient:", err)
		os.Exit(1)
	}
}

type config struct {
	target, out string
	rate        float64
	duration    time.Duration
	conns       int
	timeout     time.Duration
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("bareclient", flag.ContinueOnError)
	fs.StringVar(&c.target, "target", "", "the RR gateway's gRPC address, on loopback")
	fs.StringVar(&c.out, "out", "", "where the JSON result goes (default stdout)")
	fs.Float64Var(&c.rate, "rate", 100, "calls per second, evenly spaced")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long calls are started")
	fs.IntVar(&c.conns, "conns", 4, "gRPC connections, used in turn (edabench's default)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "each call's deadline (edabench's smoke scenario's)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case c.target == "":
		return c, errors.New("--target: the RR gateway's address is required, e.g. --target 127.0.0.1:7100")
	case loopback.Check(c.target) != nil:
		return c, fmt.Errorf("--target %s: %w (load stays on loopback)", c.target, loopback.Check(c.target))
	case c.rate <= 0 || c.duration <= 0 || c.conns <= 0 || c.timeout <= 0:
		return c, errors.New("--rate, --duration, --conns and --timeout must be positive")
	case c.rate*c.duration.Seconds() > 10_000_000:
		return c, fmt.Errorf("--rate %v for %v is over 10 million calls: shorten the run", c.rate, c.duration)
	}
	return c, nil
}

// result is what the instrument reads (its toolResult's fields).
type result struct {
	Requests  int64   `json:"requests"`
	OK        int64   `json:"ok"`
	Errors    int64   `json:"errors"`
	Seconds   float64 `json:"seconds"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	Samples   int64   `json:"samples"`
	Corrected bool    `json:"corrected"`
}

func run(args []string) error {
	c, err := parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var clients []orderpb.OrderServiceClient
	for range c.conns {
		cc, err := grpc.NewClient(c.target, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fmt.Errorf("grpc client for %s: %w", c.target, err)
		}
		defer cc.Close()
		clients = append(clients, orderpb.NewOrderServiceClient(cc))
	}
	res := load(ctx, c, clients)
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if c.out == "" {
		_, err = fmt.Println(string(b))
		return err
	}
	return os.WriteFile(c.out, b, 0o644)
}

// load runs the schedule: call i is due at i/rate; its latency is from
// then to its reply, a failure's is -1.
func load(ctx context.Context, c config, clients []orderpb.OrderServiceClient) result {
	n := int(c.rate * c.duration.Seconds())
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var sent atomic.Int64
	prefix := "bare-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(float64(i) / c.rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		sent.Add(1)
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			_, err := clients[i%len(clients)].PlaceOrder(cctx, &orderpb.PlaceOrderRequest{
				OrderId: prefix + strconv.Itoa(i), Customer: "load", AmountCents: 1999,
				Items: []*orderpb.Item{{Sku: "sku-1", Quantity: 1}}})
			lat[i] = time.Since(due)
			if err != nil {
				lat[i] = -1
			}
		})
	}
	loadSecs := time.Since(start).Seconds()
	wg.Wait()
	return summarize(lat[:sent.Load()], loadSecs)
}

// summarize counts the calls and takes p50 and p99 over the successful
// ones, nearest rank.
func summarize(lat []time.Duration, seconds float64) result {
	r := result{Requests: int64(len(lat)), Seconds: seconds, Corrected: true}
	ok := make([]time.Duration, 0, len(lat))
	for _, l := range lat {
		if l < 0 {
			r.Errors++
			continue
		}
		ok = append(ok, l)
	}
	r.OK, r.Samples = int64(len(ok)), int64(len(ok))
	slices.Sort(ok)
	r.P50Ms, r.P99Ms = rank(ok, 0.50), rank(ok, 0.99)
	return r
}

func rank(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(int(q*float64(len(sorted))+0.999999)-1, len(sorted)-1)
	return float64(sorted[max(i, 0)]) / float64(time.Millisecond)
}
