package job

import (
	"fmt"
	"strings"
)

// ConfigError is an unusable config value, found before anything was sent.
// Field names the config field, not a flag: package main owns flag names.
type ConfigError struct {
	Field   string
	Message string
	Err     error // the cause, when there is one to test for (journal.ErrInUse)
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Message }

func (e *ConfigError) Unwrap() error { return e.Err }

// configErrorOf is err as a config error of field, keeping err for errors.Is.
func configErrorOf(field string, err error) *ConfigError {
	return &ConfigError{Field: field, Message: err.Error(), Err: err}
}

func configErrorf(field, format string, args ...any) *ConfigError {
	return &ConfigError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ProtectedError refuses a plan that touches a protected user or role;
// nothing was sent. Violations name the input lines.
type ProtectedError struct{ Violations []string }

func (e *ProtectedError) Error() string {
	return fmt.Sprintf("%d removals touch protected users or roles; nothing was sent:\n%s",
		len(e.Violations), strings.Join(e.Violations, "\n"))
}
