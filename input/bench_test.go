package input

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

var (
	bench100k = sync.OnceValue(func() []byte { return benchCSV(100_000) })
	bench1M   = sync.OnceValue(func() []byte { return benchCSV(1_000_000) })
)

// benchCSV builds a realistic input: 6 columns, ids of real length, a few
// roles per user, an organization and an email now and then.
func benchCSV(rows int) []byte {
	var b bytes.Buffer
	b.Grow(rows * 100)
	b.WriteString(fullHeader)
	roles := []string{testRole, testRole2, "rol_0bwwCJ6v2x8fYcfz", "rol_X1qnfVcQoD86UtWx"}
	for i := range rows {
		user := i / 3
		switch {
		case i%50 == 0:
			fmt.Fprintf(&b, ",user%d@example.com,%s,,,2026-Q4 access review CERT-1182\n", user, roles[i%4])
		case i%20 == 0:
			fmt.Fprintf(&b, "auth0|%024x,,%s,,%s,2026-Q4 access review CERT-1182\n", user, roles[i%4], testOrg)
		default:
			fmt.Fprintf(&b, "auth0|%024x,,%s,,,2026-Q4 access review CERT-1182\n", user, roles[i%4])
		}
	}
	return b.Bytes()
}

func benchmarkReadCSV(b *testing.B, input func() []byte, rows int) {
	data := input()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		src, err := Read(bytes.NewReader(data), "bench.csv", Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(src.Rows) != rows {
			b.Fatalf("%d rows", len(src.Rows))
		}
	}
}

func BenchmarkReadCSV100k(b *testing.B) { benchmarkReadCSV(b, bench100k, 100_000) }

func BenchmarkReadCSV1M(b *testing.B) { benchmarkReadCSV(b, bench1M, 1_000_000) }
