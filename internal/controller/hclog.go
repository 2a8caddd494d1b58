package controller

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// newHCLogger returns an hclog.Logger (what hashicorp/raft logs through) that forwards to log.
// hclog's own output is discarded; a sink passes each entry on to slog, at the matching level,
// if log wants that level. Trace becomes Debug.
func newHCLogger(log *slog.Logger) hclog.Logger {
	level := hclog.Off
	for _, l := range []struct {
		slog  slog.Level
		hclog hclog.Level
	}{{slog.LevelError, hclog.Error}, {slog.LevelWarn, hclog.Warn}, {slog.LevelInfo, hclog.Info}, {slog.LevelDebug, hclog.Debug}} {
		if log.Enabled(context.Background(), l.slog) {
			level = l.hclog
		}
	}
	il := hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "raft", Output: io.Discard, Level: level})
	il.RegisterSink(slogSink{log: log, min: level})
	return il
}

type slogSink struct {
	log *slog.Logger
	min hclog.Level
}

func (s slogSink) Accept(name string, level hclog.Level, msg string, args ...any) {
	if level < s.min || s.min == hclog.Off {
		return
	}
	var l slog.Level
	switch {
	case level >= hclog.Error:
		l = slog.LevelError
	case level == hclog.Warn:
		l = slog.LevelWarn
	case level == hclog.Info:
		l = slog.LevelInfo
	default:
		l = slog.LevelDebug
	}
	attrs := make([]any, 0, len(args)+2)
	attrs = append(attrs, "component", name)
	for _, a := range args {
		if f, ok := a.(hclog.Format); ok && len(f) > 0 {
			if format, ok := f[0].(string); ok {
				a = fmt.Sprintf(format, f[1:]...)
			}
		}
		attrs = append(attrs, a)
	}
	s.log.Log(context.Background(), l, msg, attrs...)
}
