package sweep_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/gocarina/gocsv"
	"github.com/sweephq/sweep"
)

// benchFile is an import file of n rows with a third, ignored column.
func benchFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString("action,customerId,note\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "remove,%d,x\n", i)
	}
	return b.Bytes()
}

// BenchmarkFileReader measures parsing alone, the rows/s figure the issue sets
// at 1,000,000 or more.
func BenchmarkFileReader(b *testing.B) {
	const rows = 1_000_000
	data := benchFile(rows)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		fr, err := sweep.NewFileReader(bytes.NewReader(data), 0)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			rec, err := fr.Next()
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil || rec.Err != nil {
				b.Fatal(err, rec.Err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("read %d rows", n)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkGocsvDecode is the same file through gocsv's reflection-based
// decoder on the same csv.Reader, for comparison: it is why the hot path reads
// records itself and gocsv only writes fixed-shape files.
func BenchmarkGocsvDecode(b *testing.B) {
	const rows = 1_000_000
	data := benchFile(rows)
	type row struct {
		Action     string `csv:"action"`
		CustomerID string `csv:"customerId"`
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = true
		dec := gocsv.NewSimpleDecoderFromCSVReader(cr)
		var out []row
		if err := gocsv.UnmarshalDecoder(dec, &out); err != nil {
			b.Fatal(err)
		}
		if len(out) != rows {
			b.Fatalf("decoded %d rows", len(out))
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
