package ops

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/workflow"
	"github.com/prometheus/client_golang/prometheus"
)

func newServer(t *testing.T, ready func() error) (*httptest.Server, *workflow.Executor) {
	t.Helper()
	reg := prometheus.NewRegistry()
	store, _ := workflow.OpenStore("")
	e := workflow.NewExecutor(workflow.Shipping, store, workflow.NewCostControl(workflow.DefaultCost()), workflow.NewMetrics(reg), 1)
	srv := httptest.NewServer(Handler(Config{Twin: "rr", Service: "shipping", Gatherer: reg, Executors: []*workflow.Executor{e}, Ready: ready, Admin: true, Profiling: true}))
	t.Cleanup(srv.Close)
	return srv, e
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminCostChangesTheLiveModel(t *testing.T) {
	srv, e := newServer(t, nil)
	tests := []struct {
		name, query, body string
		code              int
		want              string
	}{
		{"slow it", "?step=shipping", `{"mean":"50ms","cap":"200ms"}`, 200, `"mean": "50ms"`},
		{"the only step is the default", "", `{"error_prob":0.2}`, 200, `"error_prob": 0.2`},
		{"unknown step", "?step=billing", `{}`, 404, "no step \"billing\" in this service"},
		{"invalid value", "?step=shipping", `{"error_prob":2}`, 400, "want a probability"},
		{"bad duration", "?step=shipping", `{"mean":"soon"}`, 400, "cost: mean"},
		{"not json", "?step=shipping", `mean=5ms`, 400, "cost body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, http.MethodPut, srv.URL+"/admin/cost"+tt.query, tt.body)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Fatalf("PUT = %d %s; want %d containing %q", code, body, tt.code, tt.want)
			}
		})
	}
	if c := e.Cost().Load(); c.Mean != 50*time.Millisecond || c.ErrorProb != 0.2 {
		t.Fatalf("live cost %+v: the valid changes did not stick, or an invalid one did", c)
	}
	if code, body := do(t, http.MethodGet, srv.URL+"/admin/cost", ""); code != 200 || !strings.Contains(body, `"shipping"`) {
		t.Fatalf("GET /admin/cost = %d %s", code, body)
	}
}

func TestAuditMetricsAndHealth(t *testing.T) {
	var notReady error = errors.New("broker not connected")
	srv, e := newServer(t, func() error { return notReady })
	o := workflow.Order{ID: "o1", Customer: "c", Items: []workflow.Item{{SKU: "s", Quantity: 1}}, AmountCents: 1}
	e.Execute(context.Background(), o)
	e.Execute(context.Background(), o)

	code, body := do(t, http.MethodGet, srv.URL+"/audit", "")
	var a Audit
	if err := json.Unmarshal([]byte(body), &a); code != 200 || err != nil {
		t.Fatalf("audit = %d %v", code, err)
	}
	if tot := a.Steps[workflow.Shipping]; tot.Applied != 1 || tot.DuplicatesDelivered != 1 || len(a.Entries) != 1 {
		t.Fatalf("audit %+v", a)
	}
	if _, body := do(t, http.MethodGet, srv.URL+"/audit?totals=1", ""); strings.Contains(body, "entries") {
		t.Fatal("totals=1 still lists entries")
	}
	if _, body := do(t, http.MethodGet, srv.URL+"/metrics", ""); !strings.Contains(body, workflow.MetricStepApplied+`{step="shipping"} 1`) {
		t.Fatalf("metrics lack the applied counter:\n%s", body)
	}
	if code, body := do(t, http.MethodGet, srv.URL+"/healthz", ""); code != 503 || !strings.Contains(body, "broker not connected") {
		t.Fatalf("healthz while not ready = %d %s", code, body)
	}
	notReady = nil
	if code, _ := do(t, http.MethodGet, srv.URL+"/healthz", ""); code != 200 {
		t.Fatalf("healthz when ready = %d", code)
	}
}

// A consumer's CPU or a service's heap is profiled on its own ops port.
func TestProfilesAreServed(t *testing.T) {
	srv, _ := newServer(t, nil)
	if code, body := do(t, http.MethodGet, srv.URL+"/debug/pprof/goroutine?debug=1", ""); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("goroutine profile = %d %.200s", code, body)
	}
}

// Safe by default: a service asked for neither serves neither the admin
// endpoint nor the profiles, while its probes and metrics stay.
func TestAdminAndProfilesOffByDefault(t *testing.T) {
	store, _ := workflow.OpenStore("")
	reg := prometheus.NewRegistry()
	e := workflow.NewExecutor(workflow.Shipping, store, workflow.NewCostControl(workflow.DefaultCost()), workflow.NewMetrics(reg), 1)
	srv := httptest.NewServer(Handler(Config{Twin: "rr", Service: "shipping", Gatherer: reg, Executors: []*workflow.Executor{e}}))
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/admin/cost", http.StatusNotFound},
		{http.MethodPut, "/admin/cost?step=shipping", http.StatusNotFound},
		{http.MethodGet, "/debug/pprof/", http.StatusNotFound},
		{http.MethodGet, "/debug/pprof/heap", http.StatusNotFound},
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodGet, "/metrics", http.StatusOK},
	} {
		if code, _ := do(t, tc.method, srv.URL+tc.path, `{"mean":"1s"}`); code != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, code, tc.want)
		}
	}
}
