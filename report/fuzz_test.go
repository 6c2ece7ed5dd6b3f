package report

import (
	"bytes"
	"reflect"
	"testing"
)

// normalised returns a copy of r as a JSON round trip is expected to give it
// back: times in UTC and lines never nil, as WriteJSON writes null lines as [].
func normalised(r *Report) *Report {
	n := *r
	n.StartedAt, n.FinishedAt = r.StartedAt.UTC(), r.FinishedAt.UTC()
	n.Results = make([]Result, len(r.Results))
	for i, res := range r.Results {
		if res.Lines == nil {
			res.Lines = []int{}
		}
		n.Results[i] = res
	}
	return &n
}

// FuzzReadJSON checks that ReadJSON, which `apply --plan` uses on a file a
// person may have edited, never panics, and that whatever it accepts can be
// written back and read again unchanged, with the same digest: a saved plan
// must mean the same thing every time it is read.
func FuzzReadJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadJSON(bytes.NewReader(data))
		if err != nil {
			if r != nil {
				t.Fatalf("ReadJSON returned a report and the error %v", err)
			}
			return
		}
		if r.Version != Version || r.Results == nil {
			t.Fatalf("accepted version %d, results nil: %v", r.Version, r.Results == nil)
		}
		digest := Digest(r)
		var out bytes.Buffer
		if err := WriteJSON(&out, r); err != nil {
			t.Fatalf("ReadJSON accepted a report that WriteJSON cannot write: %v", err)
		}
		back, err := ReadJSON(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("ReadJSON refuses what WriteJSON wrote: %v\n%s", err, out.Bytes())
		}
		if want := normalised(r); !reflect.DeepEqual(back, want) {
			t.Fatalf("round trip changed the report:\n got %+v\nwant %+v", back, want)
		}
		if got := Digest(back); got != digest {
			t.Fatalf("digest %s before the round trip, %s after", digest, got)
		}
		var again bytes.Buffer
		if err := WriteJSON(&again, back); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), again.Bytes()) {
			t.Fatalf("a second write differs from the first:\n%s\n---\n%s", out.Bytes(), again.Bytes())
		}
	})
}
