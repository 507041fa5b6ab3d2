//go:build !linux

package precise

import "time"

func fineSleep(d time.Duration) { time.Sleep(d) }
