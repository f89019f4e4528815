package uploader_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
	"github.com/sweephq/sweep/uploader"
	"github.com/sweephq/sweep/worker"
)

// BenchmarkUploadToValidated measures a whole upload of a file of N rows
// (default 1,000,000; SWEEP_BENCH_ROWS overrides) of existing customers in
// random order, from the first byte sent to the import reading validated.
func BenchmarkUploadToValidated(b *testing.B) {
	rows := 1_000_000
	if s := os.Getenv("SWEEP_BENCH_ROWS"); s != "" {
		rows, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	db := testenv.DB(b)
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: rows, Seed: 1, Bare: true}); err != nil {
		b.Fatal(err)
	}
	// A database that has lived a while has statistics on its customers.
	db.SQL().MustExec(`ANALYZE customers`)
	rdb, err := jobs.OpenRedis(testenv.RedisURL(b))
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	wlog := quiet
	if testing.Verbose() {
		wlog = slog.Default()
	}
	w := worker.NewServer(rdb, db, worker.Config{Concurrency: 2, Logger: wlog})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	life := lifecycle.New(db, rdb, quiet)
	srv := httptest.NewServer(uploader.NewServer(uploader.Options{DB: db, Redis: rdb, API: true, Logger: quiet, Lifecycle: life, Queues: life}))
	defer func() { srv.Close(); w.Shutdown(); rdb.Close() }()
	token, _, _ := db.CreateToken(ctx, tenant, "bench", []sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsWrite})

	var file bytes.Buffer
	file.WriteString("action,customerId\n")
	for _, id := range rand.New(rand.NewPCG(1, 2)).Perm(rows) {
		fmt.Fprintf(&file, "remove,%d\n", id+1)
	}
	b.SetBytes(int64(file.Len()))
	b.ResetTimer()
	for range b.N {
		id := uploadFile(b, srv.URL, token, file.Bytes())
		for {
			imp, err := db.GetImport(ctx, tenant, id)
			if err != nil {
				b.Fatal(err)
			}
			if imp.Status == sweep.StatusValidated {
				if imp.ValidRows != int64(rows) {
					b.Fatalf("valid rows %d, want %d", imp.ValidRows, rows)
				}
				break
			} else if imp.Status != sweep.StatusUploaded && imp.Status != sweep.StatusValidating {
				b.Fatalf("import %s: %s", imp.Status, imp.Error)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func uploadFile(b *testing.B, url, token string, data []byte) int64 {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, _ := mw.CreateFormFile("file", "bench.csv")
		fw.Write(data)
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequest("POST", url+"/v1/imports", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		b.Fatalf("upload = %d %s", resp.StatusCode, body)
	}
	var id int64
	fmt.Sscanf(string(body), `{"id":%d`, &id)
	return id
}
