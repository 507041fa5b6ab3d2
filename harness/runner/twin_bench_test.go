package runner

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/load"
)

// BenchmarkHandleReply is the per-reply cost of accounting on the load
// workers' path (counts, the ack lanes' HDR shards), with as many workers
// in parallel as the generator would run per core.
func BenchmarkHandleReply(b *testing.B) {
	const workers = 512
	st := newTwinState("rr", time.Now(), []string{"steady"}, workers, 60, 1<<20)
	h := st.handle(true)
	var next atomic.Int64
	b.SetParallelism(workers / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := int(next.Add(1)) % workers
		now := time.Now()
		r := load.Result{Phase: "steady", Intended: now, Start: now, End: now.Add(3 * time.Millisecond)}
		for i := uint64(0); pb.Next(); i++ {
			r.Seq = i % (1 << 20)
			h(w, r)
		}
	})
}
