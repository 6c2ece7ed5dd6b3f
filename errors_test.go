package main

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rolesweep/rolesweep/job"
	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/reconcile"
)

func TestConfigFieldsBecomeFlagsAndKeepTheirExitCodes(t *testing.T) {
	cases := []struct {
		err  error
		text string
		code int
	}{
		{&job.ConfigError{Field: "max_retries", Message: "must not be negative"}, "--max-retries: must not be negative", exitInvalid},
		{fmt.Errorf("cannot start: %w", &job.ConfigError{Field: "resume", Message: "no such file"}), "cannot start: --resume: no such file", exitInvalid},
		// management names fields ("api_token") or, before that change, flags.
		{&management.ConfigError{Field: "api_token", Message: "is empty"}, "--api-token: is empty", exitInvalid},
		{&management.ConfigError{Field: "--domain", Message: "is empty"}, "--domain: is empty", exitInvalid},
		{&job.ConfigError{Field: "something_new", Message: "x"}, "something_new: x", exitInvalid},
		{fmt.Errorf("run: %w", &reconcile.AbortError{Reason: "interrupted by interrupt"}), "run: interrupted by interrupt", exitAborted},
		{&failuresError{failed: 2}, "2 roles were not removed", exitFailures},
		{usagef("--format must be text"), "--format must be text", exitInvalid},
	}
	for _, c := range cases {
		assert.Equal(t, c.text, describe(c.err))
		assert.Equal(t, c.code, exitCode(c.err), "exit code of %v", c.err)
	}
	assert.Equal(t, exitOK, exitCode(nil))
}
