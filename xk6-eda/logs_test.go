package eda

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// edabench's slog records reach k6's logrus logger with their attributes
// as fields; below Warn they are k6's Debug (shown with --verbose only).
func TestLogrusHandler(t *testing.T) {
	cases := []struct {
		name  string
		level logrus.Level
		log   func(*slog.Logger)
		want  []string // substrings of the output; none when empty
	}{
		{"warn with fields and an error", logrus.InfoLevel, func(l *slog.Logger) {
			l.With("role", "consume").WithGroup("q").Warn("bus: lost", "name", "x", "err", errors.New("boom"))
		}, []string{"level=warning", `msg="bus: lost"`, "role=consume", "q.name=x", "err=boom", "component=xk6-eda"}},
		{"error", logrus.InfoLevel, func(l *slog.Logger) { l.Error("bad") }, []string{"level=error", "msg=bad"}},
		{"info is debug: hidden at k6's default level", logrus.InfoLevel, func(l *slog.Logger) { l.Info("bus: connected") }, nil},
		{"info is debug: shown with --verbose", logrus.DebugLevel, func(l *slog.Logger) { l.Info("bus: connected") }, []string{"level=debug", `msg="bus: connected"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			lg := logrus.New()
			lg.SetOutput(&buf)
			lg.SetLevel(c.level)
			lg.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, DisableColors: true})
			c.log(slog.New(newLogrusHandler(lg.WithField("component", "xk6-eda"))))
			out := buf.String()
			if len(c.want) == 0 && out != "" {
				t.Errorf("logged %q, want nothing", out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
		})
	}
}
