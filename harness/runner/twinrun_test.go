package runner

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/output"
	"github.com/edabench/edabench/harness/results"
)

// Every way out of a twin's run undoes the steps last first (the twin stops
// before its proxies close and its claim is released), then ends its
// context.
func TestTwinRunUndoesLastFirst(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	tr := &twinRun{parent: context.Background(), ctx: ctx, cancel: cancel}
	var order []string
	for _, step := range []string{"claim", "proxies", "twin", "observer"} {
		tr.onExit(func(ctx context.Context) {
			if ctx.Err() != nil {
				t.Errorf("%s undone with an ended context", step)
			}
			if tr.ctx.Err() != nil {
				t.Errorf("%s undone after the twin's context ended", step)
			}
			order = append(order, step)
		})
	}
	tr.close()
	if want := []string{"observer", "twin", "proxies", "claim"}; !slices.Equal(order, want) {
		t.Errorf("undone in the order %v, want %v", order, want)
	}
	if ctx.Err() == nil {
		t.Error("the twin's context still runs after close")
	}
}

func TestTwinRunOutcome(t *testing.T) {
	serviceDied := errors.New("eda service inventory exited unexpectedly")
	for _, c := range []struct {
		name         string
		loadErr      error
		partial      bool
		cause        error // the twin's context ended with it
		interruptRun bool
		want         string // "" for none
	}{
		{name: "a clean run", want: ""},
		{name: "the executor failed", loadErr: errors.New("the stages executor: bad"), want: "the stages executor: bad"},
		{name: "the load stopped early by itself", partial: true, want: "the load stopped before its schedule ended"},
		{name: "a service died", partial: true, cause: serviceDied, want: serviceDied.Error()},
		// The run's own interrupt is reported once, by Run, not per twin.
		{name: "the run was interrupted", partial: true, cause: context.Canceled, interruptRun: true, want: ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent, stopRun := context.WithCancel(context.Background())
			defer stopRun()
			ctx, cancel := context.WithCancelCause(parent)
			defer cancel(nil)
			if c.interruptRun {
				stopRun()
			} else if c.cause != nil {
				cancel(c.cause)
			}
			tr := &twinRun{parent: parent, ctx: ctx, cancel: cancel, loadErr: c.loadErr}
			tr.out.Stats = load.Stats{Partial: c.partial}
			got := ""
			if err := tr.outcome(); err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("outcome %q, want %q", got, c.want)
			}
		})
	}
}

// The live output serves what the ticks feed it, fault series included
// only for a twin that injects faults.
func TestLiveOutput(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lo := &liveOutput{addr: "127.0.0.1:0", progress: io.Discard}
	if err := lo.Start(ctx, output.Run{}); err != nil {
		t.Fatal(err)
	}
	if lo.Addr() == "" {
		t.Fatal("no address after the live output started, for the file-SD output to announce")
	}
	lo.Tick(output.Tick{Twin: "eda", Row: output.Row{Depth: 7}, Sent: 12, Faults: []string{"kill:inventory"}, Injecting: true})
	lo.Tick(output.Tick{Twin: "rr", Sent: 5})
	resp, err := http.Get("http://" + lo.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		MetricRequests + `{outcome="sent",twin="eda"} 12`,
		MetricQueueDepth + `{twin="eda"} 7`,
		MetricFaultActive + `{fault="kill:inventory",twin="eda"} 1`,
		MetricRequests + `{outcome="sent",twin="rr"} 5`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(string(body), MetricFaultActive+`{fault="kill:inventory",twin="rr"}`) {
		t.Error("a fault series for a twin without faults")
	}
	if err := lo.Stop(ctx, &results.Summary{}); err != nil {
		t.Fatal(err)
	}
}
