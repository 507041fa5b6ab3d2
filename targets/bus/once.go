package bus

import "sync"

// Once is a signal raised at most once, for ConsumeOptions.Subscribed: its
// Do is safe to call on every resubscription, and Done's channel closes at
// the first.
type Once struct {
	once sync.Once
	done chan struct{}
}

// NewOnce makes a signal not yet raised.
func NewOnce() *Once { return &Once{done: make(chan struct{})} }

// Do raises the signal; later calls do nothing.
func (o *Once) Do() { o.once.Do(func() { close(o.done) }) }

// Done is closed once Do was called.
func (o *Once) Done() <-chan struct{} { return o.done }
