package launch

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/api/orderpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// BinaryArgs come first on every service's command line, on its first
// start and on a restart alike: /usr/bin/env with the target's path as its
// one leading argument runs the target with the service's flags, as
// `edabench serve` does with "serve".
func TestStartWithBinaryArgs(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: this test builds the target and starts an RR twin")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	target, err := BuildTarget(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tw, err := Start(ctx, Spec{Twin: "rr", Steps: 1, Binary: "/usr/bin/env", BinaryArgs: []string{target}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer tw.Stop(context.WithoutCancel(ctx))

	conn, err := grpc.NewClient(tw.GatewayAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reply, err := orderpb.NewOrderServiceClient(conn).PlaceOrder(ctx, &orderpb.PlaceOrderRequest{
		OrderId: "o1", Customer: "c", Items: []*orderpb.Item{{Sku: "a", Quantity: 1}}, AmountCents: 100})
	if err != nil || reply.GetStatus() != orderpb.OrderStatus_COMPLETED {
		t.Fatalf("PlaceOrder through a twin started as env TARGET: %v, %v", reply, err)
	}

	wantArgv := func(svc string) {
		t.Helper()
		b, err := os.ReadFile("/proc/" + strconv.Itoa(tw.Process(svc).PID()) + "/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		argv := bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0})
		// env has exec'd the target: argv[0] is the target, then the flags.
		if len(argv) < 3 || string(argv[0]) != target || string(argv[1]) != "--twin" || string(argv[2]) != "rr" {
			t.Errorf("%s runs %q, want %s --twin rr ...", svc, argv, target)
		}
	}
	wantArgv("payment")
	if err := tw.Restart(ctx, "payment"); err != nil {
		t.Fatal(err)
	}
	wantArgv("payment")
	wantArgv("gateway")
}
