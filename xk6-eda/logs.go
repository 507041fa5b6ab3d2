package eda

import (
	"context"
	"log/slog"
	"strings"

	"github.com/sirupsen/logrus"
)

// The extension logs through k6's logger (logrus), so that k6's
// --log-format, --log-output and --verbose apply to it. edabench's own
// packages it uses (targets/bus) log with slog: logrusHandler carries their
// records over.

// logrusHandler is a slog.Handler writing to a logrus FieldLogger. Records
// below Warn (the bus's "connected" and retry notes) go to logrus's Debug:
// k6's Info is what a script's user reads on the console, and they are
// not for them unless they ask with --verbose.
type logrusHandler struct {
	log    logrus.FieldLogger
	fields logrus.Fields
	group  string
}

func newLogrusHandler(l logrus.FieldLogger) *logrusHandler {
	return &logrusHandler{log: l, fields: logrus.Fields{}}
}

// Enabled asks logrus when it can tell its level; a FieldLogger of
// another kind gets every record and filters itself.
func (h *logrusHandler) Enabled(_ context.Context, level slog.Level) bool {
	lv, ok := logrusLevel(h.log)
	if !ok {
		return true
	}
	return lv >= toLogrus(level)
}

func logrusLevel(l logrus.FieldLogger) (logrus.Level, bool) {
	switch x := l.(type) {
	case *logrus.Logger:
		return x.GetLevel(), true
	case *logrus.Entry:
		return x.Logger.GetLevel(), true
	}
	return 0, false
}

func toLogrus(level slog.Level) logrus.Level {
	switch {
	case level >= slog.LevelError:
		return logrus.ErrorLevel
	case level >= slog.LevelWarn:
		return logrus.WarnLevel
	default:
		return logrus.DebugLevel
	}
}

func (h *logrusHandler) Handle(_ context.Context, r slog.Record) error {
	f := make(logrus.Fields, len(h.fields)+r.NumAttrs())
	for k, v := range h.fields {
		f[k] = v
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(f, h.group, a)
		return true
	})
	e := h.log.WithFields(f)
	switch toLogrus(r.Level) {
	case logrus.ErrorLevel:
		e.Error(r.Message)
	case logrus.WarnLevel:
		e.Warn(r.Message)
	default:
		e.Debug(r.Message)
	}
	return nil
}

func addAttr(f logrus.Fields, group string, a slog.Attr) {
	v := a.Value.Resolve()
	key := a.Key
	if group != "" {
		key = group + "." + key
	}
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			addAttr(f, strings.TrimPrefix(key, "."), g)
		}
		return
	}
	if key == "" {
		return
	}
	if err, ok := v.Any().(error); ok {
		f[key] = err.Error()
		return
	}
	f[key] = v.Any()
}

func (h *logrusHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	f := make(logrus.Fields, len(h.fields)+len(attrs))
	for k, v := range h.fields {
		f[k] = v
	}
	for _, a := range attrs {
		addAttr(f, h.group, a)
	}
	return &logrusHandler{log: h.log, fields: f, group: h.group}
}

func (h *logrusHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	g := name
	if h.group != "" {
		g = h.group + "." + name
	}
	return &logrusHandler{log: h.log, fields: h.fields, group: g}
}
