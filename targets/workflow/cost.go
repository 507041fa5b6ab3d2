package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/edabench/edabench/internal/precise"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Distribution is the shape of a step's service time.
type Distribution string

const (
	Fixed       Distribution = "fixed"
	Exponential Distribution = "exponential"
	LogNormal   Distribution = "lognormal"
)

// Mode says what a step does while it spends its service time.
type Mode string

const (
	// Wait sleeps, as a step that waits on a database or a remote API does.
	Wait Mode = "wait"
	// CPU spins, as a step that computes does; it competes for the cores.
	CPU Mode = "cpu"
)

// Cost is a step's cost model.
type Cost struct {
	Dist Distribution `json:"dist"`
	// Mean of the service time; for lognormal, its median is Mean·e^(-σ²/2).
	Mean time.Duration `json:"mean"`
	// Cap bounds one sample, so a heavy tail cannot stall a run; 0 means 10·Mean.
	Cap  time.Duration `json:"cap"`
	Mode Mode          `json:"mode"`
	// Sigma is the lognormal shape parameter (default 0.5).
	Sigma float64 `json:"sigma,omitempty"`
	// ErrorProb is the chance that one application fails for business reasons.
	ErrorProb float64 `json:"error_prob"`
}

// DefaultCost is a cheap, wait-bound step: 1 ms fixed, never failing.
func DefaultCost() Cost { return Cost{Dist: Fixed, Mean: time.Millisecond, Mode: Wait} }

// Validate names the field that is wrong and what it accepts.
func (c Cost) Validate() error {
	switch c.Dist {
	case Fixed, Exponential, LogNormal:
	default:
		return fmt.Errorf("cost: dist %q: want fixed, exponential or lognormal", c.Dist)
	}
	switch c.Mode {
	case Wait, CPU:
	default:
		return fmt.Errorf("cost: mode %q: want wait or cpu", c.Mode)
	}
	if c.Mean < 0 || c.Cap < 0 {
		return fmt.Errorf("cost: mean (%v) and cap (%v) must not be negative", c.Mean, c.Cap)
	}
	if c.Cap > 0 && c.Cap < c.Mean {
		return fmt.Errorf("cost: cap %v is below mean %v", c.Cap, c.Mean)
	}
	if c.ErrorProb < 0 || c.ErrorProb > 1 || math.IsNaN(c.ErrorProb) {
		return fmt.Errorf("cost: error_prob %v: want a probability in [0, 1]", c.ErrorProb)
	}
	if c.Sigma < 0 || c.Sigma > 4 {
		return fmt.Errorf("cost: sigma %v: want 0 to 4", c.Sigma)
	}
	return nil
}

// ParseCost reads "dist=exponential,mean=5ms,cap=50ms,mode=cpu,error=0.01",
// starting from base so a spec names only what it changes.
func ParseCost(base Cost, spec string) (Cost, error) {
	c := base
	if strings.TrimSpace(spec) == "" {
		return c, c.Validate()
	}
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return c, fmt.Errorf("cost %q: %q is not key=value (keys: dist, mean, cap, mode, sigma, error)", spec, kv)
		}
		var err error
		switch k {
		case "dist":
			c.Dist = Distribution(v)
		case "mode":
			c.Mode = Mode(v)
		case "mean":
			c.Mean, err = time.ParseDuration(v)
		case "cap":
			c.Cap, err = time.ParseDuration(v)
		case "sigma":
			c.Sigma, err = strconv.ParseFloat(v, 64)
		case "error", "error_prob":
			c.ErrorProb, err = strconv.ParseFloat(v, 64)
		default:
			return c, fmt.Errorf("cost %q: unknown key %q (keys: dist, mean, cap, mode, sigma, error)", spec, k)
		}
		if err != nil {
			return c, fmt.Errorf("cost %q: %s: %w", spec, k, err)
		}
	}
	return c, c.Validate()
}

// String is the spec ParseCost reads back.
func (c Cost) String() string {
	s := fmt.Sprintf("dist=%s,mean=%s,cap=%s,mode=%s,error=%g", c.Dist, c.Mean, c.Cap, c.Mode, c.ErrorProb)
	if c.Dist == LogNormal {
		s += fmt.Sprintf(",sigma=%g", c.sigma())
	}
	return s
}

func (c Cost) sigma() float64 {
	if c.Sigma == 0 {
		return 0.5
	}
	return c.Sigma
}

func (c Cost) capOrDefault() time.Duration {
	if c.Cap > 0 {
		return c.Cap
	}
	return 10 * c.Mean
}

// Sample draws one service time.
func (c Cost) Sample(r *rand.Rand) time.Duration {
	var d float64
	m := float64(c.Mean)
	switch c.Dist {
	case Exponential:
		d = r.ExpFloat64() * m
	case LogNormal:
		s := c.sigma()
		mu := math.Log(m) - s*s/2
		d = math.Exp(mu + s*r.NormFloat64())
	default:
		d = m
	}
	if cp := float64(c.capOrDefault()); d > cp {
		d = cp
	}
	return time.Duration(d)
}

// Fails draws whether one application fails.
func (c Cost) Fails(r *rand.Rand) bool { return c.ErrorProb > 0 && r.Float64() < c.ErrorProb }

// Spend takes d the way the mode says, returning early when ctx ends.
func (c Cost) Spend(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if c.Mode == CPU {
		return spin(ctx, d)
	}
	// A plain timer wakes up to a millisecond late here: a 10 ms step would
	// cost 11, and the twins would not run the model they were given.
	return precise.Sleep(ctx, d)
}

// spin burns CPU for d, checking ctx between short slices so a cancelled
// request stops consuming the core it competes for.
func spin(ctx context.Context, d time.Duration) error {
	end := time.Now().Add(d)
	x := uint64(1)
	for i := 0; ; i++ {
		for j := 0; j < 2000; j++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		if i%8 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !time.Now().Before(end) {
			break
		}
	}
	// Keeps the arithmetic from being optimised away: the spin must cost CPU.
	runtime.KeepAlive(x)
	return nil
}

// CostControl holds a step's cost model so the admin endpoint can change it mid-run.
type CostControl struct{ p atomic.Pointer[Cost] }

// NewCostControl starts with c.
func NewCostControl(c Cost) *CostControl {
	cc := &CostControl{}
	cc.p.Store(&c)
	return cc
}

// Load returns the current model.
func (cc *CostControl) Load() Cost { return *cc.p.Load() }

// Store replaces the model after validating it.
func (cc *CostControl) Store(c Cost) error {
	if err := c.Validate(); err != nil {
		return err
	}
	cc.p.Store(&c)
	return nil
}

// MarshalJSON writes durations as Go duration strings, which people can read and edit.
func (c Cost) MarshalJSON() ([]byte, error) {
	type wire struct {
		Dist      Distribution `json:"dist"`
		Mean      string       `json:"mean"`
		Cap       string       `json:"cap"`
		Mode      Mode         `json:"mode"`
		Sigma     float64      `json:"sigma,omitempty"`
		ErrorProb float64      `json:"error_prob"`
	}
	return json.Marshal(wire{c.Dist, c.Mean.String(), c.Cap.String(), c.Mode, c.Sigma, c.ErrorProb})
}

// UnmarshalJSON reads what MarshalJSON writes; omitted fields keep their value.
func (c *Cost) UnmarshalJSON(b []byte) error {
	var w struct {
		Dist      *Distribution `json:"dist"`
		Mean      *string       `json:"mean"`
		Cap       *string       `json:"cap"`
		Mode      *Mode         `json:"mode"`
		Sigma     *float64      `json:"sigma"`
		ErrorProb *float64      `json:"error_prob"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Dist != nil {
		c.Dist = *w.Dist
	}
	if w.Mode != nil {
		c.Mode = *w.Mode
	}
	if w.Sigma != nil {
		c.Sigma = *w.Sigma
	}
	if w.ErrorProb != nil {
		c.ErrorProb = *w.ErrorProb
	}
	for _, f := range []struct {
		s   *string
		d   *time.Duration
		key string
	}{{w.Mean, &c.Mean, "mean"}, {w.Cap, &c.Cap, "cap"}} {
		if f.s == nil {
			continue
		}
		d, err := time.ParseDuration(*f.s)
		if err != nil {
			return fmt.Errorf("cost: %s: %w", f.key, err)
		}
		*f.d = d
	}
	return nil
}
