package netns

import (
	"fmt"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs f on an OS thread moved into the node's namespace, for sockets
// this process opens there itself (a test's server or client): a socket
// belongs to the namespace of the thread that made it and stays there.
// Only what f does on its own goroutine is inside; goroutines it starts
// are not.
func (nd *Node) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread dies with this goroutine instead of
		// going back to the scheduler inside another namespace.
		runtime.LockOSThread()
		fd, err := unix.Open(filepath.Join("/run/netns", nd.ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("netns: open namespace %s: %w", nd.ns, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netns: enter namespace %s: %w", nd.ns, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}
