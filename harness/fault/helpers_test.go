package fault

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

// entry is a fault entry as a scenario file spells it, every value a
// scalar's text; it reads itself into the registry as the parser would.
type entry map[string]string

type entryBinder struct {
	t *testing.T
	e entry
}

func (b entryBinder) Text(key string, v *string) {
	if s, ok := b.e[key]; ok {
		*v = s
	}
}

func (b entryBinder) Duration(key string, v *time.Duration) {
	if s, ok := b.e[key]; ok {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.t.Fatalf("%s: %v", key, err)
		}
		*v = d
	}
}

func (b entryBinder) Number(key string, v *float64) {
	if s, ok := b.e[key]; ok {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			b.t.Fatalf("%s: %v", key, err)
		}
		*v = f
	}
}

func (b entryBinder) Count(key string, v *int64) {
	if s, ok := b.e[key]; ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.t.Fatalf("%s: %v", key, err)
		}
		*v = n
	}
}

// decode reads e through the built-in registry, failing on an unknown type.
func decode(t *testing.T, e entry) Spec {
	t.Helper()
	s, problems := Builtin().Decode(entryBinder{t, e})
	if len(problems) > 0 {
		t.Fatalf("%v: %v", e, problems)
	}
	return s
}

// checkCase is one entry and the keys Validate must complain about, in order.
type checkCase struct {
	e    entry
	want []string
}

// testChecks decodes and validates each case; at and duration default to
// a valid window so each case names only what it is about.
func testChecks(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		e := entry{"at": "1s", "duration": "1s"}
		for k, v := range tc.e {
			e[k] = v
		}
		var got []string
		for _, p := range decode(t, e).Validate() {
			got = append(got, p.Field)
			if p.Msg == "" {
				t.Errorf("%v: %s: an empty message", e, p.Field)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: problems with %v, want %v", e, got, tc.want)
		}
	}
}
