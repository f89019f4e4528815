package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/sweephq/sweep"
)

// FileChunkSize is the size of the pieces an uploaded file is stored in.
const FileChunkSize = 1 << 20

// importColumns are the columns of imports every read of an import
// selects: importRow's, in its order.
var importColumns = columnsOf(importRow{})

// columnsOf lists the db tags of a struct's fields, for its SELECT.
func columnsOf(v any) string {
	t := reflect.TypeOf(v)
	cols := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if c := t.Field(i).Tag.Get("db"); c != "" && c != "-" {
			cols = append(cols, c)
		}
	}
	return strings.Join(cols, ", ")
}

type importRow struct {
	ID              int64          `db:"id"`
	TenantID        int64          `db:"tenant_id"`
	Source          string         `db:"source"`
	Status          string         `db:"status"`
	Policy          string         `db:"policy"`
	FileName        string         `db:"file_name"`
	FileSize        int64          `db:"file_size"`
	FileSHA256      string         `db:"file_sha256"`
	AutoStart       bool           `db:"auto_start"`
	RunAt           sql.NullTime   `db:"run_at"`
	Parallelism     int            `db:"parallelism"`
	TotalRows       int64          `db:"total_rows"`
	ValidRows       int64          `db:"valid_rows"`
	ErrorRows       int64          `db:"error_rows"`
	ProcessedRows   int64          `db:"processed_rows"`
	DeletedRows     int64          `db:"deleted_rows"`
	SkippedRows     int64          `db:"skipped_rows"`
	RowsPerSecond   float64        `db:"rows_per_second"`
	Validations     int            `db:"validations"`
	CancelRequested bool           `db:"cancel_requested"`
	Error           string         `db:"error"`
	CreatedBy       string         `db:"created_by"`
	CleanupPolicyID sql.NullInt64  `db:"cleanup_policy_id"`
	CreatedAt       time.Time      `db:"created_at"`
	UpdatedAt       time.Time      `db:"updated_at"`
	ValidatedAt     sql.NullTime   `db:"validated_at"`
	StartedAt       sql.NullTime   `db:"started_at"`
	FinishedAt      sql.NullTime   `db:"finished_at"`
	RunWindow       string         `db:"run_window"`
	MaxRate         sql.NullInt64  `db:"max_rows_per_second"`
	HeldReason      sql.NullString `db:"held_reason"`
	HeldMessage     string         `db:"held_message"`
	HeldSince       sql.NullTime   `db:"held_since"`
	HeldUntil       sql.NullTime   `db:"held_until"`
	CreatedByToken  sql.NullInt64  `db:"created_by_token"`
	ApprovalBy      sql.NullString `db:"approval_requested_by"`
	ApprovalToken   sql.NullInt64  `db:"approval_requested_token"`
	ApprovalAt      sql.NullTime   `db:"approval_requested_at"`
	ApprovalExpires sql.NullTime   `db:"approval_expires_at"`
	ApprovedBy      sql.NullString `db:"approved_by"`
	ApprovedAt      sql.NullTime   `db:"approved_at"`
	ApprovedToken   sql.NullInt64  `db:"approved_token"`
	ApprovalReason  sql.NullString `db:"approval_reason"`
	ErasedRows      []byte         `db:"erased_rows"`
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

func (r importRow) toImport() sweep.Import {
	var hold *sweep.Hold
	if r.HeldReason.Valid {
		hold = &sweep.Hold{Reason: sweep.HoldReason(r.HeldReason.String), Message: r.HeldMessage,
			Since: r.HeldSince.Time, Until: timePtr(r.HeldUntil)}
	}
	// A window stored by this code always parses; one that no longer does
	// (a time zone gone from the system's database) is reported by the run.
	w, _ := sweep.ParseWindow(r.RunWindow)
	var approval *sweep.Approval
	if r.ApprovalAt.Valid {
		approval = &sweep.Approval{RequestedBy: r.ApprovalBy.String, RequestedByToken: r.ApprovalToken.Int64,
			RequestedAt: r.ApprovalAt.Time, ExpiresAt: r.ApprovalExpires.Time, ApprovedBy: r.ApprovedBy.String,
			ApprovedAt: timePtr(r.ApprovedAt), Reason: r.ApprovalReason.String}
		if r.ApprovedAt.Valid {
			approval.ApprovedByToken = r.ApprovedToken.Int64
		}
	}
	return sweep.Import{
		RunWindow: w, MaxRowsPerSecond: int(r.MaxRate.Int64), Hold: hold, Approval: approval, CreatedByToken: r.CreatedByToken.Int64,
		ID: r.ID, TenantID: r.TenantID, Source: sweep.Source(r.Source), Status: sweep.Status(r.Status),
		Policy: sweep.Policy(r.Policy), FileName: r.FileName, FileSize: r.FileSize, FileSHA256: r.FileSHA256,
		AutoStart: r.AutoStart, RunAt: timePtr(r.RunAt), Parallelism: r.Parallelism,
		TotalRows: r.TotalRows, ValidRows: r.ValidRows, ErrorRows: r.ErrorRows, ProcessedRows: r.ProcessedRows,
		DeletedRows: r.DeletedRows, SkippedRows: r.SkippedRows, RowsPerSecond: r.RowsPerSecond,
		Validations: r.Validations, CancelRequested: r.CancelRequested, Error: r.Error, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ValidatedAt: timePtr(r.ValidatedAt),
		StartedAt: timePtr(r.StartedAt), FinishedAt: timePtr(r.FinishedAt), CleanupPolicyID: r.CleanupPolicyID.Int64,
		ErasedRows: erasedRows(r.ErasedRows),
	}
}

// erasedRows reads the run's counts by "schema.table action", leaving out
// the zeros (a table the plan names that held none of the customers' rows).
func erasedRows(b []byte) map[string]int64 {
	var all map[string]int64
	if len(b) == 0 || json.Unmarshal(b, &all) != nil {
		return nil
	}
	for k, v := range all {
		if v == 0 {
			delete(all, k)
		}
	}
	if len(all) == 0 {
		return nil
	}
	return all
}

// NewImport describes an import to create.
type NewImport = sweep.NewImport

// CreateImport stores file, read in chunks of FileChunkSize so it is never
// whole in memory, and creates its import in state uploaded with validation
// round 1, all in one transaction: a failed upload leaves nothing behind.
//
// An idempotency key binds the request it was first used with (see
// sweep.ImportRequest): the same key with the same request stores nothing and
// returns the first import with existed set; with another request it returns
// sweep.KeyReused. Keys are looked up in the space of n's source
// (sweep.KeySpace), so HTTP clients, upstream services and cleanup batches
// never share one.
func (db *DB) CreateImport(ctx context.Context, n NewImport, file io.Reader) (imp sweep.Import, existed bool, err error) {
	return db.createImport(ctx, n, file, createOptions{})
}

// createOptions shape createImport for the imports sweep makes itself.
type createOptions struct {
	// empty creates the import completed with no rows, as the record of a
	// cleanup run that found nothing: it never passes through the states of
	// an import with work to do.
	empty bool
	// also runs in the import's transaction once it is written.
	also func(tx *sqlx.Tx, id int64) error
}

func (db *DB) createImport(ctx context.Context, n NewImport, file io.Reader, opt createOptions) (imp sweep.Import, existed bool, err error) {
	h := sha256.New()
	file = io.TeeReader(file, h)
	req := sweep.ImportRequest{Source: n.Source, FileName: n.FileName, Policy: n.Policy, AutoStart: n.AutoStart,
		RunAt: n.RunAt, CleanupPolicyID: n.CleanupPolicyID, RunWindow: n.RunWindow, MaxRowsPerSecond: n.MaxRowsPerSecond}
	space := sweep.KeySpace(n.Source)
	if n.IdempotencyKey != "" {
		imp, stored, err := db.importByKey(ctx, n.TenantID, space, n.IdempotencyKey)
		if err == nil {
			return replay(n, imp, stored, req, file, h)
		} else if sweep.ErrorCode(err) != sweep.ENOTFOUND {
			return sweep.Import{}, false, err
		}
	}
	var key sql.NullString
	if n.IdempotencyKey != "" {
		key = sql.NullString{String: n.IdempotencyKey, Valid: true}
	}
	var id int64
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO imports (tenant_id, source, policy, file_name, auto_start, run_at, idempotency_key, key_space, created_by, cleanup_policy_id, validations,
				status, validated_at, started_at, finished_at, run_window, max_rows_per_second, created_by_token)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, nullif($10, 0), 1, s.status, s.at, s.at, s.at, $12, nullif($13, 0), nullif($14, 0)
			FROM (SELECT CASE WHEN $11 THEN 'completed' ELSE 'uploaded' END AS status, CASE WHEN $11 THEN now() END AS at) s
			ON CONFLICT (tenant_id, key_space, idempotency_key) DO NOTHING
			RETURNING id`,
			n.TenantID, n.Source, n.Policy, n.FileName, n.AutoStart, n.RunAt, key, space, n.CreatedBy, n.CleanupPolicyID, opt.empty,
			n.RunWindow.String(), n.MaxRowsPerSecond, n.CreatedByToken).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			existed = true // a concurrent request with the same key won
			return nil
		} else if err != nil {
			return fmt.Errorf("create import: %w", err)
		}
		buf := make([]byte, FileChunkSize)
		var size int64
		for seq := 0; ; seq++ {
			k, rerr := fill(file, buf)
			if k > 0 {
				size += int64(k)
				if _, err := tx.ExecContext(ctx, `INSERT INTO import_files (tenant_id, import_id, seq, data) VALUES ($1, $2, $3, $4)`,
					n.TenantID, id, seq, buf[:k]); err != nil {
					return fmt.Errorf("store file chunk %d: %w", seq, err)
				}
			}
			// Only io.EOF ends the file; any other error (a body cut short among
			// them) rolls the import back.
			if errors.Is(rerr, io.EOF) {
				break
			} else if rerr != nil {
				return rerr
			}
		}
		req.FileSHA256 = hex.EncodeToString(h.Sum(nil))
		_, err = tx.ExecContext(ctx, `UPDATE imports SET file_size = $3, file_sha256 = $4, request_sha256 = $5 WHERE tenant_id = $1 AND id = $2`,
			n.TenantID, id, size, req.FileSHA256, req.Fingerprint())
		if err == nil && opt.also != nil {
			err = opt.also(tx, id)
		}
		return err
	})
	if err != nil {
		return sweep.Import{}, false, err
	}
	if existed {
		imp, stored, err := db.importByKey(ctx, n.TenantID, space, n.IdempotencyKey)
		if err != nil {
			return sweep.Import{}, false, err
		}
		return replay(n, imp, stored, req, file, h)
	}
	imp, err = db.GetImport(ctx, n.TenantID, id)
	return imp, false, err
}

// fill reads from r until buf is full or r ends. Unlike io.ReadFull it
// passes every error through unchanged: io.EOF is the only clean end, and an
// io.ErrUnexpectedEOF from r (a multipart body cut before its boundary) stays
// an error.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// replay answers a request whose idempotency key already made imp, whose
// request had the fingerprint stored: it reads the rest of the file only to
// take its digest, and returns imp when the request is the one the key was
// first used with, sweep.KeyReused otherwise.
func replay(n NewImport, imp sweep.Import, stored sql.NullString, req sweep.ImportRequest, file io.Reader, h hash.Hash) (sweep.Import, bool, error) {
	if n.Source == sweep.SourceSchedule {
		// A batch's key is sweep's own, one per policy and due time: it is the
		// request, whatever the policy selects when the run is delivered again.
		return imp, true, nil
	}
	if _, err := io.Copy(io.Discard, file); err != nil {
		return sweep.Import{}, false, err
	}
	req.FileSHA256 = hex.EncodeToString(h.Sum(nil))
	same := stored.String == req.Fingerprint()
	if !stored.Valid { // made before requests were fingerprinted: its file is all there is to compare
		same = imp.FileSHA256 == req.FileSHA256
	}
	if !same {
		return sweep.Import{}, false, sweep.KeyReused(n.IdempotencyKey, imp.ID)
	}
	return imp, true, nil
}

// CreateImportFromIDs is CreateImport for ids a program gives rather than a
// file: each calls add with every id, and the ids are streamed into the
// stored file by sweep.WriteIDsFile, so they meet the same validation as an
// uploaded file. It also returns how many ids each gave (0 when the
// idempotency key had already made the import).
func (db *DB) CreateImportFromIDs(ctx context.Context, n NewImport, each func(add func(id int64) error) error) (imp sweep.Import, existed bool, count int64, err error) {
	return db.CreateImportFromKeys(ctx, n, func(add func(string) error) error {
		return each(func(id int64) error { return add(strconv.FormatInt(id, 10)) })
	})
}

// CreateImportFromKeys is CreateImportFromIDs for customers named by key
// (sweep.WriteKeysFile).
func (db *DB) CreateImportFromKeys(ctx context.Context, n NewImport, each func(add func(key string) error) error) (imp sweep.Import, existed bool, count int64, err error) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		var err error
		count, err = sweep.WriteKeysFile(pw, each)
		pw.CloseWithError(err)
	}()
	imp, existed, err = db.CreateImport(ctx, n, pr)
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer when the store gave up early
	<-done
	if existed {
		count = 0
	}
	return imp, existed, count, err
}

// importByKey returns the import an idempotency key made in a key space,
// with the fingerprint of the request that made it (NULL for imports made
// before requests were fingerprinted).
func (db *DB) importByKey(ctx context.Context, tenant int64, space, key string) (sweep.Import, sql.NullString, error) {
	var r struct {
		importRow
		RequestSHA256 sql.NullString `db:"request_sha256"`
	}
	err := db.db.GetContext(ctx, &r, `SELECT `+importColumns+`, request_sha256 FROM imports WHERE tenant_id = $1 AND key_space = $2 AND idempotency_key = $3`, tenant, space, key)
	if err != nil {
		return sweep.Import{}, r.RequestSHA256, notFound(err, "no import with that idempotency key")
	}
	return r.toImport(), r.RequestSHA256, nil
}

// ImportIDByKey returns the id of the import an idempotency key made in the
// key space of source (0 when there is none).
func (db *DB) ImportIDByKey(ctx context.Context, tenant int64, source sweep.Source, key string) (int64, error) {
	imp, _, err := db.importByKey(ctx, tenant, sweep.KeySpace(source), key)
	return imp.ID, err
}

// GetImport returns import id of tenant; another tenant's import is ENOTFOUND.
func (db *DB) GetImport(ctx context.Context, tenant, id int64) (sweep.Import, error) {
	var r importRow
	err := db.db.GetContext(ctx, &r, `SELECT `+importColumns+` FROM imports WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err != nil {
		return sweep.Import{}, notFound(err, "Import %d was not found.", id)
	}
	return r.toImport(), nil
}

// ImportFilter picks a page of the import history, newest first.
type ImportFilter struct {
	Before   int64 // only imports with a smaller id (0: from the newest)
	Limit    int
	PolicyID int64          // only the batches of this cleanup policy (0: any)
	Statuses []sweep.Status // only imports in one of these states (none: any)
	Source   sweep.Source   // only imports of this source ("": any)
	// CreatedBy: only imports whose creator (a token's name, a cleanup
	// policy's or an upstream source) is this ("": any).
	CreatedBy string
	// CreatedFrom and CreatedTo bound the creation time: from inclusive,
	// to exclusive (zero: open).
	CreatedFrom, CreatedTo time.Time
}

// ListImports returns a page of tenant's imports, newest first, and whether
// more follow it.
func (db *DB) ListImports(ctx context.Context, tenant int64, f ImportFilter) ([]sweep.Import, bool, error) {
	before := f.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	states := make([]string, len(f.Statuses))
	for i, s := range f.Statuses {
		states[i] = string(s)
	}
	var from, to any
	if !f.CreatedFrom.IsZero() {
		from = f.CreatedFrom
	}
	if !f.CreatedTo.IsZero() {
		to = f.CreatedTo
	}
	var rows []importRow
	// One more than the page: whether another page follows.
	err := db.db.SelectContext(ctx, &rows, `SELECT `+importColumns+` FROM imports
		WHERE tenant_id = $1 AND id < $2 AND ($4 = 0 OR cleanup_policy_id = $4)
		  AND (cardinality($5::text[]) = 0 OR status = ANY($5)) AND ($6 = '' OR source = $6) AND ($7 = '' OR created_by = $7)
		  AND ($8::timestamptz IS NULL OR created_at >= $8) AND ($9::timestamptz IS NULL OR created_at < $9)
		ORDER BY id DESC LIMIT $3`, tenant, before, f.Limit+1, f.PolicyID, pq.Array(states), string(f.Source), f.CreatedBy, from, to)
	if err != nil {
		return nil, false, fmt.Errorf("list imports: %w", err)
	}
	more := len(rows) > f.Limit
	if more {
		rows = rows[:f.Limit]
	}
	out := make([]sweep.Import, len(rows))
	for i, r := range rows {
		out[i] = r.toImport()
	}
	return out, more, nil
}

// FileReader returns a reader over the stored file of an import. A goroutine
// fetches the next chunk while the caller reads the current one, so at most
// two chunks are in memory and parsing never waits on the database for long.
// The reader stops fetching when ctx ends.
func (db *DB) FileReader(ctx context.Context, tenant, id int64) io.Reader {
	chunks := make(chan fileChunk, 1)
	go func() {
		defer close(chunks)
		for seq := 0; ; seq++ {
			var c fileChunk
			err := db.db.QueryRowContext(ctx, `SELECT data FROM import_files WHERE tenant_id = $1 AND import_id = $2 AND seq = $3`,
				tenant, id, seq).Scan(&c.data)
			if errors.Is(err, sql.ErrNoRows) {
				return
			} else if err != nil {
				c.err = fmt.Errorf("read file of import %d, chunk %d: %w", id, seq, err)
			}
			select {
			case chunks <- c:
			case <-ctx.Done():
				return
			}
			if c.err != nil {
				return
			}
		}
	}()
	return &fileReader{chunks: chunks, ctx: ctx}
}

type fileChunk struct {
	data []byte
	err  error
}

type fileReader struct {
	ctx    context.Context
	chunks <-chan fileChunk
	buf    []byte
}

func (f *fileReader) Read(p []byte) (int, error) {
	for len(f.buf) == 0 {
		c, ok := <-f.chunks
		if !ok {
			if err := f.ctx.Err(); err != nil {
				return 0, err
			}
			return 0, io.EOF
		} else if c.err != nil {
			return 0, c.err
		}
		f.buf = c.data
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	return n, nil
}

// ImportError is one stored row error.
type ImportError struct {
	Line    int64  `db:"line" json:"line"`
	Code    string `db:"code" json:"code"`
	Column  string `db:"column_name" json:"column"`
	Value   string `db:"value" json:"value"`
	Message string `db:"message" json:"message"`
}

// ListImportErrors returns up to limit row errors of an import, by line, after
// line afterLine.
func (db *DB) ListImportErrors(ctx context.Context, tenant, id, afterLine int64, limit int) ([]ImportError, error) {
	out := []ImportError{}
	err := db.db.SelectContext(ctx, &out, `SELECT line, code, column_name, value, message FROM import_errors
		WHERE tenant_id = $1 AND import_id = $2 AND line > $3 ORDER BY line LIMIT $4`, tenant, id, afterLine, limit)
	if err != nil {
		return nil, fmt.Errorf("list errors of import %d: %w", id, err)
	}
	return out, nil
}

// EachImportError calls fn for every row error of an import in line order,
// streaming them from the database.
func (db *DB) EachImportError(ctx context.Context, tenant, id int64, fn func(ImportError) error) error {
	rows, err := db.db.QueryxContext(ctx, `SELECT line, code, column_name, value, message FROM import_errors
		WHERE tenant_id = $1 AND import_id = $2 ORDER BY line`, tenant, id)
	if err != nil {
		return fmt.Errorf("read errors of import %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e ImportError
		if err := rows.StructScan(&e); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CountImportsByStatus counts the imports of every tenant by state, for metrics.
func (db *DB) CountImportsByStatus(ctx context.Context) (map[sweep.Status]int64, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT status, count(*) FROM imports GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[sweep.Status]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[sweep.Status(st)] = n
	}
	return out, rows.Err()
}
