package nats

import (
	"context"

	"github.com/edabench/edabench/targets/bus"
)

// BacklogOf reads queue's backlog through an opened driver.
func BacklogOf(ctx context.Context, d bus.Driver, queue string) (Backlog, error) {
	return d.(*driver).Backlog(ctx, queue)
}
