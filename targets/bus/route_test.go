package bus

import "testing"

func TestMatchesBinding(t *testing.T) {
	for _, tc := range []struct {
		bindings []string
		key      string
		want     bool
	}{
		{[]string{"order.created"}, "order.created", true},
		{[]string{"order.created"}, "order.paid", false},
		{[]string{"payment.*"}, "payment.done", true},
		{[]string{"payment.*"}, "payment.done.late", false},
		{[]string{"in.#"}, "in", true},
		{[]string{"in.#"}, "in.placed.again", true},
		{[]string{"#"}, "anything.at.all", true},
		{[]string{"a.*.c"}, "a.b.c", true},
		{[]string{"x", "out.#"}, "out.done", true},
		{nil, "out.done", false},
	} {
		if got := MatchesBinding(tc.bindings, tc.key); got != tc.want {
			t.Errorf("MatchesBinding(%q, %q) = %v, want %v", tc.bindings, tc.key, got, tc.want)
		}
	}
}
