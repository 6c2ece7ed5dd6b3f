package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestApplyResultTable(t *testing.T) {
	want := map[Status]ApplyResult{
		Removed: AppliedSuccessfully, Absent: AppliedSuccessfully, NotFound: AppliedSuccessfullyButObjectNotFound,
		Failed: AppliedWithUnknownFailure, Protected: ApplyNotSupported, Skipped: ApplyNew,
		Restored: AppliedSuccessfully, Present: AppliedSuccessfully, Unverified: ApplyNotSupported,
		PlanRemove: ApplyNew, PlanUnresolved: AppliedWithUnknownFailure, "bogus": AppliedWithUnknownFailure,
	}
	for status, result := range want {
		assert.Equal(t, result, status.ApplyResult(), status)
	}
}

func roundTrip(t *testing.T, r *Report) *Report {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, WriteJSON(&buf, r))
	back, err := ReadJSON(&buf)
	require.NoError(t, err)
	return back
}

func TestSweepPlanRoundTripsAndIsDigested(t *testing.T) {
	r := smallPlan()
	plain := Digest(r)
	r.Input.Sweep = &Sweep{Roles: []SweptRole{{ID: "rol_NHBmr6NkzbRcHob1", Name: "Legacy Admin"}}, Keep: &FileRef{Path: "keep.csv", SHA256: inputSHA}}
	swept := Digest(r)
	assert.NotEqual(t, plain, swept, "the sweep is part of what is approved")
	r.PlanDigest = swept

	back := roundTrip(t, r)
	assert.Equal(t, r.Input, back.Input)
	assert.Equal(t, r.Run, back.Run)
	require.NoError(t, back.CheckDigest())

	back.Input.Sweep.Keep.SHA256 = strings.Repeat("0", 64)
	assert.Error(t, back.CheckDigest(), "another keep file is another plan")
}

func TestDigestIgnoresWhoRanThePlan(t *testing.T) {
	a, b := smallPlan(), smallPlan()
	b.Run = &Run{Operator: "carol@ci-runner-12", ClientID: "another-client", Checked: true}
	assert.Equal(t, Digest(a), Digest(b))
	a.Run = nil
	assert.Equal(t, Digest(a), Digest(b))
}

func TestUndoReport(t *testing.T) {
	r := applyReport()
	r.Command, r.Outcome, r.AbortReason = CommandUndo, "", ""
	r.Input.Undoes = &Undoes{Path: "run.json", SHA256: inputSHA, Domain: "acme.eu.auth0.com", PlanDigest: "sha256:ab"}
	r.Run.Flags = RunFlags{IncludeUnverified: true}
	statuses := []Status{Restored, Present, NotFound, Failed, Unverified, Skipped, Restored}
	for i := range r.Results {
		r.Results[i].Status = statuses[i]
	}
	r.Tally()
	assert.Equal(t, 2, r.Summary.Restored)
	assert.Equal(t, 1, r.Summary.Present)
	assert.Equal(t, 1, r.Summary.Unverified)
	r.SetOutcome()
	assert.Equal(t, CompletedWithFailures, r.Outcome)

	back := roundTrip(t, r)
	assert.Equal(t, r.Input.Undoes, back.Input.Undoes)
	assert.Equal(t, r.Summary, back.Summary)

	var buf bytes.Buffer
	require.NoError(t, WriteJSON(&buf, r))
	bad := strings.Replace(buf.String(), `"status": "restored"`, `"status": "removed"`, 1)
	_, err := ReadJSON(strings.NewReader(bad))
	assert.ErrorContains(t, err, `status "removed" is not valid in an undo report`)

	// Every removal back: completed.
	for i := range r.Results {
		r.Results[i].Status = Present
	}
	r.Outcome = ""
	r.SetOutcome()
	assert.Equal(t, Completed, r.Outcome)
}

func TestReadJSONRefusesEditedApplyResult(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteJSON(&buf, applyReport()))
	edited := strings.Replace(buf.String(), `"apply_result": "AppliedSuccessfully"`, `"apply_result": "New"`, 1)
	_, err := ReadJSON(strings.NewReader(edited))
	assert.ErrorContains(t, err, "does not match status")
}

func TestProtectedAndExcludedCounted(t *testing.T) {
	r := applyReport()
	r.Results[4].Status = Protected
	r.Summary.Excluded = 17
	r.Tally()
	assert.Equal(t, 1, r.Summary.Protected)
	assert.Equal(t, 17, r.Summary.Excluded, "excluded rows are counted by the reader, kept by Tally")
	back := roundTrip(t, r)
	assert.Equal(t, r.Summary, back.Summary)
	assert.Equal(t, ApplyNotSupported, back.Results[4].Status.ApplyResult())
}
