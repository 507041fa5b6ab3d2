package precise

import (
	"syscall"
	"time"
)

// fineSleep blocks the thread in nanosleep, which wakes within tens of µs;
// the runtime hands the goroutine's P to other work meanwhile.
func fineSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	// The runtime's preemption signals interrupt the sleep; the remainder
	// is written back to ts, so retrying never sleeps too long.
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
