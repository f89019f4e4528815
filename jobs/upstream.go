package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/wire"
)

// MaxInlineIDs is the most customer ids a customers:delete task carries in its
// body. Longer lists are staged in PostgreSQL (table staged_ids, see
// WithStaging) and the task names the batch.
const MaxInlineIDs = 100_000

// DeletePayload is the body of a customers:delete task: delete these customers
// of this tenant through an import of source upstream, validated and run with
// the same rules and outcomes as an uploaded file.
type DeletePayload struct {
	Version  int   `json:"version"`
	TenantID int64 `json:"tenant_id"`
	// Exactly one of CustomerIDs (at most MaxInlineIDs), CustomerKeys (as
	// many, for a platform whose customer key is a uuid or text) and
	// StagedBatch (the batch name of rows in staged_ids) is set.
	CustomerIDs  []int64  `json:"customer_ids,omitempty"`
	CustomerKeys []string `json:"customer_keys,omitempty"`
	StagedBatch  string   `json:"staged_batch,omitempty"`
	// Source names the calling system ("billing-sync"); it is recorded as the
	// import's creator. Letters, digits, '-', '_' and '.' only.
	Source string `json:"source,omitempty"`
	// IdempotencyKey makes a repeated request return the first import; it is
	// the import's idempotency key (shared with POST /v1/imports).
	IdempotencyKey string       `json:"idempotency_key"`
	Policy         sweep.Policy `json:"policy,omitempty"`
}

// DeletePayloadVersion is the version of the customers:delete payloads this
// build writes and reads.
const DeletePayloadVersion = 1

// DeleteResult is what a customers:delete task writes as its asynq result.
type DeleteResult struct {
	ImportID int64 `json:"import_id,omitempty"`
	// Existed: the idempotency key had already made this import for this
	// same request.
	Existed bool `json:"existed"`
	// Error is set when the request was refused (the task is then archived):
	// Code is a sweep error code, such as sweep.EKEYREUSED for a key already
	// used for another request (KeyImportID names that import).
	Error *ResultError `json:"error,omitempty"`
}

// ResultError is why a customers:delete request was refused.
type ResultError struct {
	Code        string `json:"code"`
	Message     string `json:"message"`
	KeyImportID int64  `json:"key_import_id,omitempty"`
}

// ErrKeyReused is what DeleteCustomers returns (test with errors.Is) when its
// idempotency key was already used for another request: other ids, policy or
// source. Nothing was enqueued for the new request and nothing deleted; the
// error's message names the key and the import it belongs to.
var ErrKeyReused = errors.New("idempotency key already used for another request")

// FileName is the file name the import of the request gets.
func (p DeletePayload) FileName() string { return cmp.Or(p.Source, "upstream") + ".csv" }

// CreatedBy is who the import history says made the request.
func (p DeletePayload) CreatedBy() string { return cmp.Or(p.Source, "upstream") }

// Request is what the request's idempotency key binds, given the SHA-256 of
// its ids as an import file (sweep.IDsFileSHA256): the worker stores the same
// fingerprint with the import it makes, and the client names the task after
// it, so a key sent again with other ids never meets the first request's task.
func (p DeletePayload) Request(idsSHA256 string) sweep.ImportRequest {
	return sweep.ImportRequest{Source: sweep.SourceUpstream, FileName: p.FileName(), Policy: cmp.Or(p.Policy, sweep.PolicyLine),
		AutoStart: true, FileSHA256: idsSHA256}
}

func checkLabel(what, s string, maxLen int) error {
	if len(s) > maxLen {
		return sweep.Errorf(sweep.EINVALID, "%s must be at most %d characters; found %d.", what, maxLen, len(s))
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)) {
			return sweep.Errorf(sweep.EINVALID, "%s %q may hold only letters, digits, '-', '_', '.' and ':'.", what, s)
		}
	}
	return nil
}

// Check validates a payload and says what to fix.
func (p DeletePayload) Check() error {
	if p.Version != DeletePayloadVersion {
		return sweep.Errorf(sweep.EVERSION, "customers:delete payload version %d is not supported by this build (it reads version %d); upgrade the workers or enqueue version %d.", p.Version, DeletePayloadVersion, DeletePayloadVersion)
	}
	if p.TenantID <= 0 {
		return sweep.Errorf(sweep.EINVALID, "customers:delete needs a positive tenant_id; found %d.", p.TenantID)
	}
	given := 0
	for _, b := range []bool{len(p.CustomerIDs) > 0, len(p.CustomerKeys) > 0, p.StagedBatch != ""} {
		if b {
			given++
		}
	}
	switch {
	case given > 1:
		return sweep.Errorf(sweep.EINVALID, "customers:delete takes one of customer_ids, customer_keys and staged_batch.")
	case given == 0:
		return sweep.Errorf(sweep.EINVALID, "customers:delete needs at least one customer id.")
	case len(p.CustomerKeys) > MaxInlineIDs:
		return sweep.Errorf(sweep.ETOOLARGE, "customers:delete carries at most %d keys in the task; upload longer lists with POST /v1/imports.", MaxInlineIDs)
	case len(p.CustomerIDs) > MaxInlineIDs:
		return sweep.Errorf(sweep.ETOOLARGE, "customers:delete carries at most %d ids in the task; stage longer lists in PostgreSQL (Client with WithStaging) or upload them with POST /v1/imports.", MaxInlineIDs)
	}
	if strings.TrimSpace(p.IdempotencyKey) == "" {
		return sweep.Errorf(sweep.EINVALID, "customers:delete needs an idempotency_key.")
	}
	if err := checkLabel("idempotency_key", p.IdempotencyKey, 200); err != nil {
		return err
	}
	if err := checkLabel("source", p.Source, 100); err != nil {
		return err
	}
	if p.Policy != "" {
		if _, err := sweep.ParsePolicy(string(p.Policy)); err != nil {
			return err
		}
	}
	return nil
}

// DeleteTaskID names the customers:delete task of a tenant's idempotency key
// and request fingerprint (DeletePayload.Request), so the same request
// enqueued twice while Redis retains it is one task, and the same key with
// another request is another task, which the worker refuses.
func DeleteTaskID(tenant int64, key, fingerprint string) string {
	return fmt.Sprintf("%s:%d:%s:%.16s", TypeCustomersDelete, tenant, key, fingerprint)
}

// NewCustomersDeleteTask returns the customers:delete task for p. It runs on
// the critical queue: it only records the import and queues its validation,
// which then runs on the default queue like any other import. fingerprint is
// p.Request(sha).Fingerprint() for the SHA-256 of its ids as an import file;
// for ids carried in the task, pass "" and it is computed here.
func NewCustomersDeleteTask(p DeletePayload, fingerprint string) (*asynq.Task, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if fingerprint == "" {
		if p.StagedBatch != "" {
			return nil, sweep.Errorf(sweep.EINVALID, "customers:delete with a staged batch needs the fingerprint of its ids.")
		}
		fingerprint = p.Request(p.inlineSHA256()).Fingerprint()
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeCustomersDelete, b,
		asynq.TaskID(DeleteTaskID(p.TenantID, p.IdempotencyKey, fingerprint)),
		asynq.Queue(QueueCritical),
		asynq.MaxRetry(10),
		asynq.Timeout(30*time.Minute),
		asynq.Retention(Retention),
	), nil
}

// ParseDeletePayload decodes and checks a customers:delete payload, as
// strictly as the HTTP API reads a body (sweep.DecodeExact: exact member
// names, each once); an unknown version is EVERSION.
func ParseDeletePayload(b []byte) (DeletePayload, error) {
	var p DeletePayload
	if err := sweep.DecodeExact(b, &p); err != nil {
		return DeletePayload{}, sweep.Errorf(sweep.EINVALID, "customers:delete payload is refused: %v. Build it with jobs.NewCustomersDeleteTask.", err)
	}
	return p, p.Check()
}

// CheckDeleteTaskID refuses a customers:delete task whose id does not name
// the payload's tenant and idempotency key as DeleteTaskID does: a task says
// whose customers it deletes twice, and both must agree.
func CheckDeleteTaskID(p DeletePayload, taskID string) error {
	prefix := fmt.Sprintf("%s:%d:%s:", TypeCustomersDelete, p.TenantID, p.IdempotencyKey)
	if !strings.HasPrefix(taskID, prefix) {
		return sweep.Errorf(sweep.EINVALID, "customers:delete task %q does not name tenant %d and idempotency key %q of its payload as jobs.DeleteTaskID does; it was refused and nothing was deleted. Enqueue it with jobs.NewCustomersDeleteTask or jobs.Client.", sweep.SafeValue(taskID), p.TenantID, p.IdempotencyKey)
	}
	return nil
}

// CleanupPayloadVersion is the version of the cleanup:run payloads this
// build writes and reads: version 3 carries the revision of the policy that
// was claimed, and the worker makes the batch only of that revision (version
// 2 carried the policy's creation stamp only). Older tasks are refused: they
// do not say what was decided.
const CleanupPayloadVersion = 3

// CleanupPayload is the body of a cleanup:run task: make the batch of one
// cleanup policy for one due time.
type CleanupPayload struct {
	Version  int   `json:"version"`
	TenantID int64 `json:"tenant_id"`
	PolicyID int64 `json:"policy_id"`
	// PolicyCreatedUS is the policy's creation time in unix microseconds
	// (sweep.CleanupPolicy.CreatedAt): with the id, the policy's identity,
	// so a task never makes a batch for another policy with the same id.
	PolicyCreatedUS int64     `json:"policy_created_us"`
	Due             time.Time `json:"due"`
	// Revision is the policy's revision the scheduler claimed the run with
	// (sweep.CleanupPolicy.Revision): the selection and batch size the batch
	// may run. A run whose policy changed since makes no batch.
	Revision int64 `json:"revision"`
}

// Owns reports whether policy, as read from the database, is the one the
// payload was made for: same tenant, id and creation stamp.
func (p CleanupPayload) Owns(policy sweep.CleanupPolicy) bool {
	return policy.TenantID == p.TenantID && policy.ID == p.PolicyID && policy.CreatedAt.UnixMicro() == p.PolicyCreatedUS
}

// NewCleanupRunTask returns the cleanup:run task of a policy's run due at due
// that the scheduler claimed with the policy at revision, on the low queue;
// created is the policy's creation time. Its id is derived from the policy
// (id and creation time) and due time (CleanupTaskID), so two schedulers
// enqueueing the same run make one task, and another policy with the same id
// (another database on the same Redis) never collides with it.
func NewCleanupRunTask(tenant, policy int64, created, due time.Time, revision int64) (*asynq.Task, error) {
	p := CleanupPayload{Version: CleanupPayloadVersion, TenantID: tenant, PolicyID: policy,
		PolicyCreatedUS: created.UnixMicro(), Due: due.UTC(), Revision: revision}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeCleanupRun, b,
		asynq.TaskID(CleanupTaskID(p)),
		asynq.Queue(QueueLow),
		asynq.MaxRetry(10),
		asynq.Timeout(30*time.Minute),
		asynq.Retention(Retention),
	), nil
}

// CleanupTaskID names the cleanup:run task of a claimed run.
func CleanupTaskID(p CleanupPayload) string {
	return fmt.Sprintf("%s:%d:%d-%d:%s", TypeCleanupRun, p.TenantID, p.PolicyID, p.PolicyCreatedUS, p.Due.UTC().Format(time.RFC3339Nano))
}

// ParseCleanupPayload decodes a cleanup:run payload strictly (see
// sweep.DecodeExact); an unknown version is EVERSION.
func ParseCleanupPayload(b []byte) (CleanupPayload, error) {
	var p CleanupPayload
	var v struct {
		Version int `json:"version"`
	}
	if json.Unmarshal(b, &v) == nil && v.Version != CleanupPayloadVersion {
		_ = json.Unmarshal(b, &p) // for the policy id in the message
		return CleanupPayload{Version: v.Version, PolicyID: p.PolicyID, TenantID: p.TenantID}, sweep.Errorf(sweep.EVERSION, "cleanup:run payload version %d is not supported by this build (it reads version %d, which names the policy with its creation time and the revision the scheduler claimed); the run was not made. Run the policy now (POST /v1/cleanup-policies/%d/run-now) if its batch is still wanted.", v.Version, CleanupPayloadVersion, p.PolicyID)
	}
	if err := sweep.DecodeExact(b, &p); err != nil {
		return CleanupPayload{}, sweep.Errorf(sweep.EINVALID, "cleanup:run payload is refused: %v.", err)
	}
	if p.TenantID <= 0 || p.PolicyID <= 0 || p.PolicyCreatedUS <= 0 || p.Due.IsZero() || p.Revision <= 0 {
		return p, sweep.Errorf(sweep.EINVALID, "cleanup:run needs a positive tenant_id, policy_id, policy_created_us and revision and a due time.")
	}
	return p, nil
}

// ImportQueue is the queue an import's validate and run tasks go to: low for a
// cleanup batch, default for everything else.
func ImportQueue(imp sweep.Import) string {
	if imp.Source == sweep.SourceSchedule {
		return QueueLow
	}
	return QueueDefault
}

// StatusTTL is how long a published import status stays in Redis.
const StatusTTL = 7 * 24 * time.Hour

// StatusKey is the Redis key of an import's published status.
func StatusKey(tenant, id int64) string {
	return fmt.Sprintf("sweep:import-status:%d:%d", tenant, id)
}

// PublishStatus writes an import's status to Redis: the same wire.Import
// the HTTP API shows, so a service that only reaches Redis can follow its
// import (Client.Status, Client.Wait). Its Settled says the import will not
// change by itself: it ended, or it waits for a person.
func PublishStatus(ctx context.Context, rdb redis.UniversalClient, imp sweep.Import) error {
	b, _ := json.Marshal(wire.FromImport(imp))
	return rdb.Set(ctx, StatusKey(imp.TenantID, imp.ID), b, StatusTTL).Err()
}

// inlineSHA256 is the SHA-256 of the ids or keys the task carries, as an
// import file.
func (p DeletePayload) inlineSHA256() string {
	if len(p.CustomerKeys) > 0 {
		return sweep.KeysFileSHA256(p.CustomerKeys)
	}
	return sweep.IDsFileSHA256(p.CustomerIDs)
}
