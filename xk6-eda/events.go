package eda

import (
	"fmt"
	"reflect"

	"go.k6.io/k6/js/common"
)

// k6 announces the end of the test run on its global event system
// (modules.VU.Events().Global) before it closes the sample channel and
// computes thresholds: TestEnd after the scenarios and teardown finished,
// Exit when the process is about to exit. The event types live in k6's
// internal/event package, which an extension cannot import, so they are
// found by name through the subscriber's method signature: no magic numbers
// that a k6 upgrade could silently renumber.

// endHandlers are called from the subscription's goroutine. The event is
// acknowledged (its Done called) after the handler returns, which is what
// makes k6 wait for it.
type endHandlers struct {
	testEnd func()
	exit    func()
}

// subscribeEnd subscribes to TestEnd and Exit; ok is false when the VU has
// no global event system (k6's module test runtime) or k6 changed it beyond
// recognition.
func subscribeEnd(events common.Events, h endHandlers) (ok bool, err error) {
	if events.Global == nil {
		return false, nil
	}
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("subscribing to k6's end-of-test event: %v", r)
		}
	}()
	sub := reflect.ValueOf(events.Global).MethodByName("Subscribe")
	if !sub.IsValid() || sub.Type().NumIn() != 1 || !sub.Type().IsVariadic() || sub.Type().NumOut() != 2 {
		return false, fmt.Errorf("k6's event subscriber has an unexpected Subscribe method: %v", sub.Type())
	}
	typ := sub.Type().In(0).Elem()
	want := map[string]reflect.Value{"TestEnd": {}, "Exit": {}}
	for i := uint64(1); i < 64; i++ {
		v := reflect.New(typ).Elem()
		v.SetUint(i)
		st, isStringer := v.Interface().(fmt.Stringer)
		if !isStringer {
			return false, fmt.Errorf("k6's event type %v has no names", typ)
		}
		if _, ok := want[st.String()]; ok {
			want[st.String()] = v
		}
	}
	args := reflect.MakeSlice(sub.Type().In(0), 0, 2)
	for name, v := range want {
		if !v.IsValid() {
			return false, fmt.Errorf("k6 has no %s event", name)
		}
		args = reflect.Append(args, v)
	}
	out := sub.CallSlice([]reflect.Value{args})
	ch := out[1]
	go func() {
		for {
			ev, open := ch.Recv()
			if !open {
				return
			}
			handleEvent(ev, h)
		}
	}()
	return true, nil
}

func handleEvent(ev reflect.Value, h endHandlers) {
	if ev.Kind() == reflect.Pointer {
		if ev.IsNil() {
			return
		}
		ev = ev.Elem()
	}
	defer func() {
		if done := ev.FieldByName("Done"); done.IsValid() && !done.IsNil() {
			done.Call(nil)
		}
	}()
	name := ""
	if st, ok := ev.FieldByName("Type").Interface().(fmt.Stringer); ok {
		name = st.String()
	}
	switch name {
	case "TestEnd":
		if h.testEnd != nil {
			h.testEnd()
		}
	case "Exit":
		if h.exit != nil {
			h.exit()
		}
	}
}
