// Package profiling serves Go's runtime profiles (net/http/pprof) on a
// process's own HTTP port, so a soak's heap or a consumer's CPU can be
// profiled while it runs (`go tool pprof http://ADDR/debug/pprof/heap`).
// Every edabench process listens on loopback only, which is what makes
// exposing them acceptable.
package profiling

import (
	"net/http"
	"net/http/pprof"
)

// Register adds /debug/pprof/ and its named profiles to mux.
func Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index) // heap, allocs, goroutine, block, mutex, threadcreate
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}
