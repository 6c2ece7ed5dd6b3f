package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// contractExample is the report example from CONTRACT.md ("Report"), verbatim.
// The JSON writer must use exactly these names, in this order.
const contractExample = `{
  "version": 1,
  "tool": "rolesweep v0.1.0",
  "command": "apply",
  "domain": "acme.eu.auth0.com",
  "input": {"path": "removals.csv", "format": "csv", "sha256": "…", "rows": 1234},
  "started_at": "2026-11-27T10:00:00Z",
  "finished_at": "2026-11-27T10:01:02Z",
  "outcome": "completed | completed_with_failures | aborted",
  "abort_reason": "",
  "run": {"operator": "alice@build-7", "client_id": "…", "checked": true,
          "flags": {"verify": false, "max_removals": 500, "reserve": 20, "protect": ["break-glass.csv"]}},
  "summary": {"users": 845, "roles": 1249, "removed": 1234, "absent": 12, "not_found": 3,
              "failed": 0, "protected": 0, "skipped": 0, "duplicates": 4, "excluded": 0,
              "requests": 852, "retries": 3, "rate_limited": 7},
  "results": [
    {"user_id": "auth0|…", "user_email": "", "organization_id": "", "role_id": "rol_…",
     "role_name": "Billing Admin", "status": "removed", "apply_result": "AppliedSuccessfully",
     "http_status": 204, "attempts": 1, "error": "", "lines": [2, 7], "reason": "2026-Q4 access review"}
  ]
}`

// keyPaths lists every object key in a JSON document in order, as dotted
// paths ("summary.users", "results[].status").
func keyPaths(t *testing.T, doc []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	var paths []string
	var walk func(prefix string)
	walk = func(prefix string) {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				key, err := dec.Token()
				if err != nil {
					t.Fatal(err)
				}
				path := prefix + key.(string)
				paths = append(paths, path)
				walk(path + ".")
			}
			dec.Token()
		case json.Delim('['):
			first := true
			for dec.More() {
				before := len(paths)
				walk(strings.TrimSuffix(prefix, ".") + "[].")
				// Keep the keys of the first element only.
				if !first {
					paths = paths[:before]
				}
				first = false
			}
			dec.Token()
		}
	}
	walk("")
	return paths
}

func TestJSONFieldNamesMatchContract(t *testing.T) {
	want := keyPaths(t, []byte(contractExample))
	r := applyReport()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	got := keyPaths(t, buf.Bytes())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("apply report keys differ from the contract:\n got %v\nwant %v", got, want)
	}

	// A plan uses the same names, plus its digest and its own counts.
	buf.Reset()
	if err := WriteJSON(&buf, smallPlan()); err != nil {
		t.Fatal(err)
	}
	var extra []string
	gotPlan := keyPaths(t, buf.Bytes())
	wantSet := map[string]bool{}
	for _, k := range want {
		wantSet[k] = true
	}
	var common []string
	for _, k := range gotPlan {
		if wantSet[k] {
			common = append(common, k)
		} else {
			extra = append(extra, k)
		}
	}
	if !reflect.DeepEqual(common, want) {
		t.Errorf("plan keys differ from the contract:\n got %v\nwant %v", common, want)
	}
	if !reflect.DeepEqual(extra, []string{"plan_digest", "summary.remove", "summary.unresolved"}) {
		t.Errorf("plan adds %v", extra)
	}
}

func TestReadJSONRoundTrip(t *testing.T) {
	for name, build := range map[string]func() *Report{"plan": smallPlan, "apply": applyReport, "large": largePlan} {
		t.Run(name, func(t *testing.T) {
			r := build()
			var first bytes.Buffer
			if err := WriteJSON(&first, r); err != nil {
				t.Fatal(err)
			}
			back, err := ReadJSON(bytes.NewReader(first.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, r) {
				t.Errorf("round trip changed the report:\n got %+v\nwant %+v", back, r)
			}
			var second bytes.Buffer
			if err := WriteJSON(&second, back); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first.Bytes(), second.Bytes()) {
				t.Errorf("second write differs from the first")
			}
		})
	}
}

func TestReadJSONRefuses(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, smallPlan()); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	tests := []struct {
		name, doc, want string
	}{
		{"unknown top-level field", strings.Replace(good, `"version": 1,`, `"version": 1, "dry_run": true,`, 1), "dry_run"},
		{"unknown result field", strings.Replace(good, `"reason": "left the team"`, `"reason": "left the team", "note": "x"`, 1), "note"},
		{"unknown summary field", strings.Replace(good, `"users": 5,`, `"users": 5, "groups": 5,`, 1), "groups"},
		{"version 2", strings.Replace(good, `"version": 1,`, `"version": 2,`, 1), "version 2"},
		{"no version", strings.Replace(good, `"version": 1,`, ``, 1), "version 0"},
		{"unknown status", strings.Replace(good, `"status": "absent"`, `"status": "gone"`, 1), `"gone"`},
		{"run status in a plan", strings.Replace(good, `"status": "absent"`, `"status": "removed"`, 1), `"removed" is not valid in a plan`},
		{"trailing data", good + `{"version": 1}`, "after"},
		{"truncated", good[:len(good)/2], "read report"},
		{"not an object", `[]`, "read report"},
		{"empty", ``, "read report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.doc == good {
				t.Fatal("the test did not change the document")
			}
			_, err := ReadJSON(strings.NewReader(tt.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestReadJSONRefusesPlanStatusInReport(t *testing.T) {
	r := applyReport()
	r.Results[0].Status = PlanRemove
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadJSON(&buf); err == nil || !strings.Contains(err.Error(), `"remove" is not valid in an apply report`) {
		t.Errorf("error %v", err)
	}
}

func TestReadJSONNullResults(t *testing.T) {
	r, err := ReadJSON(strings.NewReader(`{"version": 1, "results": null}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Results == nil || len(r.Results) != 0 {
		t.Errorf("results = %#v, want empty", r.Results)
	}
}

func TestDigest(t *testing.T) {
	base := smallPlan()
	digest := Digest(base)
	if !strings.HasPrefix(digest, "sha256:") || len(digest) != len("sha256:")+64 {
		t.Fatalf("digest %q", digest)
	}
	if Digest(smallPlan()) != digest {
		t.Fatal("digest is not deterministic")
	}
	if err := base.CheckDigest(); err != nil {
		t.Errorf("CheckDigest of an untouched plan: %v", err)
	}

	var buf bytes.Buffer
	if err := WriteJSON(&buf, base); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if Digest(back) != digest {
		t.Errorf("digest changed across a JSON round trip")
	}

	changes := map[string]func(r *Report){
		"user id":             func(r *Report) { r.Results[0].UserID = "auth0|someoneelse" },
		"user email":          func(r *Report) { r.Results[3].UserEmail = "john@acme.com" },
		"organization":        func(r *Report) { r.Results[0].OrganizationID = "org_K2f8GqT1mXa9Lb3P" },
		"role id":             func(r *Report) { r.Results[0].RoleID = "rol_AAAAAAAAAAAAAAAA" },
		"role name":           func(r *Report) { r.Results[1].RoleName = "Billing Viewer" },
		"status":              func(r *Report) { r.Results[2].Status = PlanRemove },
		"lines":               func(r *Report) { r.Results[1].Lines = []int{3} },
		"reason":              func(r *Report) { r.Results[0].Reason = "" },
		"domain":              func(r *Report) { r.Domain = "evil.eu.auth0.com" },
		"input sha256":        func(r *Report) { r.Input.SHA256 = strings.Repeat("0", 64) },
		"order":               func(r *Report) { r.Results[0], r.Results[1] = r.Results[1], r.Results[0] },
		"result removed":      func(r *Report) { r.Results = r.Results[1:] },
		"result added":        func(r *Report) { r.Results = append(r.Results, r.Results[0]) },
		"role moved to other": func(r *Report) { r.Results[0].RoleID, r.Results[0].RoleName = "", "rol_NHBmr6NkzbRcHob1" },
	}
	for name, change := range changes {
		r := smallPlan()
		change(r)
		if Digest(r) == digest {
			t.Errorf("changing the %s does not change the digest", name)
		}
		if err := r.CheckDigest(); err == nil {
			t.Errorf("CheckDigest accepts a plan whose %s changed", name)
		}
	}

	same := map[string]func(r *Report){
		"attempts":    func(r *Report) { r.Results[0].Attempts = 3 },
		"http status": func(r *Report) { r.Results[0].HTTPStatus = 204 },
		"error":       func(r *Report) { r.Results[4].Error = "different wording" },
		"times":       func(r *Report) { r.StartedAt, r.FinishedAt = fixedFinish, fixedFinish },
		"summary":     func(r *Report) { r.Summary.Requests = 1000 },
		"tool":        func(r *Report) { r.Tool = "rolesweep v9" },
	}
	for name, change := range same {
		r := smallPlan()
		change(r)
		if Digest(r) != digest {
			t.Errorf("changing the %s changes the digest", name)
		}
	}

	// JSON writes nil lines as [], so ReadJSON returns []: both must agree.
	nilLines, emptyLines := smallPlan(), smallPlan()
	nilLines.Results[0].Lines, emptyLines.Results[0].Lines = nil, []int{}
	if Digest(nilLines) != Digest(emptyLines) {
		t.Errorf("nil and empty lines digest differently")
	}

	unsigned := smallPlan()
	unsigned.PlanDigest = ""
	if err := unsigned.CheckDigest(); err == nil {
		t.Errorf("CheckDigest accepts a plan without a digest")
	}
}
