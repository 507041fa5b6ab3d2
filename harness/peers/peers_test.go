package peers

import (
	"context"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	var pid int
	// A busy loop for a moment, so there is CPU time to account.
	res, err := Run(context.Background(), Spec{Path: "/bin/sh", Args: []string{"-c", `i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 0.3`},
		SampleEvery: 50 * time.Millisecond, OnStart: func(p int) { pid = p }})
	if err != nil {
		t.Fatal(err)
	}
	if pid == 0 || res.ExitCode != 0 || res.CPUSeconds <= 0 || res.PeakRSSBytes <= 0 || res.Wall < 300*time.Millisecond {
		t.Errorf("pid %d, result %+v", pid, res)
	}
	if len(res.Samples) < 3 || res.Samples[0].RSSBytes <= 0 {
		t.Errorf("samples %+v: want several, with an RSS", res.Samples)
	}
}

func TestRunExit(t *testing.T) {
	res, err := Run(context.Background(), Spec{Path: "/bin/sh", Args: []string{"-c", "exit 99"}})
	if ExitCode(err) != 99 || res.ExitCode != 99 {
		t.Errorf("err %v, exit %d: want 99", err, res.ExitCode)
	}
	if _, err := Run(context.Background(), Spec{Path: "/nonexistent/ghz"}); err == nil {
		t.Error("no error for a missing binary")
	}
}
