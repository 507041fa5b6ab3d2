// Package ops is the operations endpoint every target service serves on its
// HTTP port: Prometheus metrics, health, the admin endpoint that changes a
// step's cost model mid-run (how faults slow or break a step), and the audit
// of what each step applied.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/edabench/edabench/internal/profiling"
	"github.com/edabench/edabench/targets/workflow"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is what one service exposes.
type Config struct {
	Twin, Service string
	Gatherer      prometheus.Gatherer
	// Executors are the steps this process runs (one, or four in all-in-one mode).
	Executors []*workflow.Executor
	// Ready reports whether the service can take work (broker connected, peers known).
	Ready func() error
	// Admin serves /admin/cost, which changes the service's behaviour
	// mid-run (the harness's cost faults use it); Profiling serves
	// /debug/pprof/. Both are off unless asked for: on a shared network
	// neither should be reachable by default.
	Admin, Profiling bool
}

// Handler serves:
//
//	GET  /metrics             Prometheus exposition
//	GET  /healthz             200 when Ready returns nil, 503 with the reason otherwise
//	GET  /admin/cost          the cost model of every step here (Admin only)
//	PUT  /admin/cost?step=S   replace fields of step S's cost model (JSON body; omitted fields kept; Admin only)
//	GET  /audit[?totals=1]    every (order, step) decision, or only the totals
//	GET  /debug/pprof/        Go's runtime profiles (CPU, heap, goroutines; Profiling only)
func Handler(cfg Config) http.Handler {
	mux := http.NewServeMux()
	if cfg.Profiling {
		profiling.Register(mux)
	}
	if cfg.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if cfg.Ready != nil {
			if err := cfg.Ready(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintf(w, "ok %s %s\n", cfg.Twin, cfg.Service)
	})
	if cfg.Admin {
		admin(mux, cfg)
	}
	mux.HandleFunc("GET /audit", func(w http.ResponseWriter, r *http.Request) {
		rep := Audit{Twin: cfg.Twin, Service: cfg.Service, Steps: map[workflow.Step]workflow.AuditTotals{}}
		for _, e := range cfg.Executors {
			entries, totals := e.Store().Audit()
			rep.Steps[e.Step()] = totals
			if r.URL.Query().Get("totals") == "" {
				rep.Entries = append(rep.Entries, entries...)
			}
		}
		writeJSON(w, rep)
	})
	return mux
}

// admin registers /admin/cost.
func admin(mux *http.ServeMux, cfg Config) {
	mux.HandleFunc("GET /admin/cost", func(w http.ResponseWriter, r *http.Request) {
		out := make(map[workflow.Step]workflow.Cost, len(cfg.Executors))
		for _, e := range cfg.Executors {
			out[e.Step()] = e.Cost().Load()
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("PUT /admin/cost", func(w http.ResponseWriter, r *http.Request) {
		e, err := executor(cfg.Executors, r.URL.Query().Get("step"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		c := e.Cost().Load()
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&c); err != nil {
			http.Error(w, "cost body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := e.Cost().Store(c); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		slog.Info("cost model changed", "step", e.Step(), "cost", c.String())
		writeJSON(w, c)
	})
}

// Audit is the /audit reply.
type Audit struct {
	Twin    string                                 `json:"twin"`
	Service string                                 `json:"service"`
	Steps   map[workflow.Step]workflow.AuditTotals `json:"steps"`
	Entries []workflow.AuditEntry                  `json:"entries,omitempty"`
}

func executor(es []*workflow.Executor, step string) (*workflow.Executor, error) {
	if step == "" && len(es) == 1 {
		return es[0], nil
	}
	for _, e := range es {
		if string(e.Step()) == step {
			return e, nil
		}
	}
	names := make([]string, 0, len(es))
	for _, e := range es {
		names = append(names, string(e.Step()))
	}
	return nil, fmt.Errorf("no step %q in this service (it runs %v): pass ?step=NAME", step, names)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Serve serves h on ln until ctx ends, then shuts down gracefully.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("ops http: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		return err
	}
}
