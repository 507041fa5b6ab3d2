package fault

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// changeCost changes step's cost model through its service's admin
// endpoint; the undo puts back the model it had before. change gets that
// model and returns the fields to replace.
func changeCost(ctx context.Context, env *Env, step string, change func(before map[string]any) map[string]any) (Undo, error) {
	before, err := cost(ctx, env, step)
	if err != nil {
		return nil, err
	}
	if err := putCost(ctx, env, step, change(before)); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return putCost(ctx, env, step, before) }, nil
}

func cost(ctx context.Context, env *Env, step string) (map[string]any, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+env.Twin.HTTPAddr(step)+"/admin/cost", nil)
	resp, err := env.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read %s's cost model: %w", step, err)
	}
	defer resp.Body.Close()
	var all map[string]map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		return nil, fmt.Errorf("read %s's cost model: %w", step, err)
	}
	c, ok := all[step]
	if !ok {
		return nil, fmt.Errorf("%s's admin endpoint has no cost model for %s", step, step)
	}
	return c, nil
}

func putCost(ctx context.Context, env *Env, step string, c map[string]any) error {
	b, _ := json.Marshal(c)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+env.Twin.HTTPAddr(step)+"/admin/cost?step="+step, bytes.NewReader(b))
	resp, err := env.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("change %s's cost model: %w", step, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("change %s's cost model: %s: %s", step, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
