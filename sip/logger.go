package sip

import (
	"context"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// slogHandler is a slog.Handler that writes to a zap.Logger, so that the
// logs of sipgo and diago share the daemon's sinks and fields. Records
// above ceiling are written at ceiling: the libraries log peer errors at
// Error level with whole SIP messages, phone numbers included, which
// belong at Debug level in optgate's log.
type slogHandler struct {
	log     *zap.Logger
	ceiling zapcore.Level
	// prefix is prepended to attribute keys, for slog groups.
	prefix string
}

// newSlogLogger returns a slog.Logger backed by log whose records are
// written at most at ceiling.
func newSlogLogger(log *zap.Logger, ceiling zapcore.Level) *slog.Logger {
	return slog.New(&slogHandler{log: log, ceiling: ceiling})
}

func (h *slogHandler) level(l slog.Level) zapcore.Level {
	var z zapcore.Level
	switch {
	case l >= slog.LevelError:
		z = zapcore.ErrorLevel
	case l >= slog.LevelWarn:
		z = zapcore.WarnLevel
	case l >= slog.LevelInfo:
		z = zapcore.InfoLevel
	default:
		z = zapcore.DebugLevel
	}
	return min(z, h.ceiling)
}

// Enabled implements slog.Handler.
func (h *slogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.log.Core().Enabled(h.level(l))
}

// Handle implements slog.Handler.
func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	ce := h.log.Check(h.level(r.Level), r.Message)
	if ce == nil {
		return nil
	}
	fields := make([]zap.Field, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		fields = appendAttr(fields, h.prefix, a)
		return true
	})
	ce.Write(fields...)
	return nil
}

// WithAttrs implements slog.Handler.
func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	fields := make([]zap.Field, 0, len(attrs))
	for _, a := range attrs {
		fields = appendAttr(fields, h.prefix, a)
	}
	return &slogHandler{log: h.log.With(fields...), ceiling: h.ceiling, prefix: h.prefix}
}

// WithGroup implements slog.Handler.
func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &slogHandler{log: h.log, ceiling: h.ceiling, prefix: h.prefix + name + "."}
}

// appendAttr converts one slog attribute, flattening groups into dotted
// keys.
func appendAttr(fields []zap.Field, prefix string, a slog.Attr) []zap.Field {
	v := a.Value.Resolve()
	if a.Key == "" && v.Kind() != slog.KindGroup {
		return fields
	}
	key := prefix + a.Key
	switch v.Kind() {
	case slog.KindGroup:
		p := prefix
		if a.Key != "" {
			p = key + "."
		}
		for _, g := range v.Group() {
			fields = appendAttr(fields, p, g)
		}
		return fields
	case slog.KindString:
		return append(fields, zap.String(key, v.String()))
	case slog.KindInt64:
		return append(fields, zap.Int64(key, v.Int64()))
	case slog.KindUint64:
		return append(fields, zap.Uint64(key, v.Uint64()))
	case slog.KindFloat64:
		return append(fields, zap.Float64(key, v.Float64()))
	case slog.KindBool:
		return append(fields, zap.Bool(key, v.Bool()))
	case slog.KindDuration:
		return append(fields, zap.Duration(key, v.Duration()))
	case slog.KindTime:
		return append(fields, zap.Time(key, v.Time()))
	}
	if err, ok := v.Any().(error); ok {
		return append(fields, zap.NamedError(key, err))
	}
	return append(fields, zap.Any(key, v.Any()))
}
