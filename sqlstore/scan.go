package sqlstore

import (
	"fmt"
	"time"
)

// timeScanner scans a time column into *t: a timestamptz arrives as a
// time.Time, an SQLite INTEGER as microseconds since the Unix epoch. Either
// way the result is in UTC, as the store writes it.
type timeScanner struct{ t *time.Time }

func (s timeScanner) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		*s.t = v.UTC()
	case int64:
		*s.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("scan time: unexpected %T", v)
	}
	return nil
}

// nullTimeScanner scans a nullable time column into *t, nil for NULL.
type nullTimeScanner struct{ t **time.Time }

func (s nullTimeScanner) Scan(v any) error {
	if v == nil {
		*s.t = nil
		return nil
	}
	*s.t = new(time.Time)
	return timeScanner{*s.t}.Scan(v)
}

// nullInt and nullString store a zero value as NULL.
func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nullString(v string) any {
	if v == "" {
		return nil
	}
	return v
}
