package jobs

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/lib/pq"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/wire"
)

// Client is how another Go service asks sweep to delete customers: it
// enqueues customers:delete tasks on sweep's Redis and follows the imports
// they become. Safe for concurrent use.
type Client struct {
	rdb       redis.UniversalClient
	ownRedis  bool
	inspector *asynq.Inspector
	staging   *sql.DB
	// PollInterval is how often DeleteCustomers and Wait look for news.
	PollInterval time.Duration
	// InlineLimit is the most ids sent in the task itself (at most
	// MaxInlineIDs); longer lists are staged.
	InlineLimit int
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithStaging lets the client send lists longer than MaxInlineIDs: it stages
// them in sweep's PostgreSQL (table staged_ids, INSERT privilege is enough)
// and the task carries only the batch name.
func WithStaging(db *sql.DB) ClientOption {
	return func(c *Client) { c.staging = db }
}

// NewClient connects to sweep's Redis at url (redis://host:6379/0).
func NewClient(url string, opts ...ClientOption) (*Client, error) {
	rdb, err := OpenRedis(url)
	if err != nil {
		return nil, err
	}
	c := NewClientFromRedis(rdb, opts...)
	c.ownRedis = true
	return c, nil
}

// NewClientFromRedis uses the service's own go-redis client, which stays the
// caller's to close.
func NewClientFromRedis(rdb redis.UniversalClient, opts ...ClientOption) *Client {
	c := &Client{
		rdb: rdb, inspector: asynq.NewInspectorFromRedisClient(rdb),
		PollInterval: 250 * time.Millisecond, InlineLimit: MaxInlineIDs,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Close releases the Redis connection when the client opened it.
func (c *Client) Close() error {
	if c.ownRedis {
		return c.rdb.Close()
	}
	return nil
}

// DeleteOption adjusts a DeleteCustomers request.
type DeleteOption func(*DeletePayload)

// Source names the calling system, e.g. "billing-sync"; the import history
// shows it as the import's creator.
func Source(name string) DeleteOption { return func(p *DeletePayload) { p.Source = name } }

// IdempotencyKey makes a repeated request (a retry after a timeout, a replayed
// message) return the first request's import instead of making another.
// Without it every call is a new import.
func IdempotencyKey(key string) DeleteOption {
	return func(p *DeletePayload) { p.IdempotencyKey = key }
}

// Policy sets what a row error does: sweep.PolicyLine (default: the other ids
// go ahead) or sweep.PolicyFile (any error rejects the request).
func Policy(policy sweep.Policy) DeleteOption { return func(p *DeletePayload) { p.Policy = policy } }

// DeleteCustomers asks sweep to delete customers of tenant and returns the id
// of the import that does it, once a worker has recorded it (usually within a
// second; ctx bounds the wait). The import validates and runs like an
// uploaded file: unknown ids and ids linked to a loan are row errors, the rest
// are deleted. Follow it with Wait or Status, or in the import history.
func (c *Client) DeleteCustomers(ctx context.Context, tenant int64, ids []int64, opts ...DeleteOption) (int64, error) {
	p := newDeletePayload(tenant, opts)
	// The fingerprint of the request names its task: the same key with the
	// same ids meets the first task (or, once Redis has let it go, the import
	// in PostgreSQL); with other ids it makes a new task, which the worker
	// refuses with ErrKeyReused.
	fingerprint, taskID, sent := c.taskOf(p, sweep.IDsFileSHA256(ids))
	if sent {
		return c.waitResult(ctx, taskID) // sent before and still in Redis: nothing to stage or enqueue
	}
	if limit := min(c.InlineLimit, MaxInlineIDs); len(ids) > limit {
		if c.staging == nil {
			return 0, sweep.Errorf(sweep.ETOOLARGE, "%d ids is more than a task carries (%d); create the client with WithStaging(db) to stage them in sweep's PostgreSQL, or upload them with POST /v1/imports.", len(ids), limit)
		}
		batch, err := c.stage(ctx, tenant, p.IdempotencyKey, fingerprint, ids)
		if err != nil {
			return 0, err
		}
		p.StagedBatch = batch
	} else {
		p.CustomerIDs = ids
	}
	return c.enqueueDelete(ctx, p, fingerprint, taskID)
}

// DeleteCustomerKeys is DeleteCustomers for a platform whose customer key
// is a uuid or text (the erasure plan's subject.key): keys as the platform
// writes them, at most MaxInlineIDs of them (longer lists go through POST
// /v1/imports). Rows are checked as a file's are: a key that is not a
// uuid, or names no one, is a row error.
func (c *Client) DeleteCustomerKeys(ctx context.Context, tenant int64, keys []string, opts ...DeleteOption) (int64, error) {
	p := newDeletePayload(tenant, opts)
	p.CustomerKeys = keys
	fingerprint, taskID, sent := c.taskOf(p, sweep.KeysFileSHA256(keys))
	if sent {
		return c.waitResult(ctx, taskID)
	}
	return c.enqueueDelete(ctx, p, fingerprint, taskID)
}

// taskOf is the fingerprint of request p, whose ids or keys make an import
// file of SHA-256 fileSHA, and the id of its task, which sent says Redis
// still holds.
func (c *Client) taskOf(p DeletePayload, fileSHA string) (fingerprint, taskID string, sent bool) {
	fingerprint = p.Request(fileSHA).Fingerprint()
	taskID = DeleteTaskID(p.TenantID, p.IdempotencyKey, fingerprint)
	_, err := c.inspector.GetTaskInfo(QueueCritical, taskID)
	return fingerprint, taskID, err == nil
}

func newDeletePayload(tenant int64, opts []DeleteOption) DeletePayload {
	p := DeletePayload{Version: DeletePayloadVersion, TenantID: tenant}
	for _, o := range opts {
		o(&p)
	}
	if p.IdempotencyKey == "" {
		b := make([]byte, 16)
		rand.Read(b)
		p.IdempotencyKey = "upstream-" + hex.EncodeToString(b)
	}
	return p
}

// enqueueDelete enqueues a customers:delete task and waits for its import.
func (c *Client) enqueueDelete(ctx context.Context, p DeletePayload, fingerprint, taskID string) (int64, error) {
	task, err := NewCustomersDeleteTask(p, fingerprint)
	if err != nil {
		return 0, err
	}
	// A fresh asynq client per request: asynq's client registers a queue in
	// Redis only on its first use, so a long-lived one would not register it
	// again after Redis lost its data, and the task could not be looked up.
	if _, err := asynq.NewClientFromRedisClient(c.rdb).EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return 0, fmt.Errorf("enqueue customers:delete: %w", err)
	}
	return c.waitResult(ctx, taskID)
}

// stageChunk is how many ids go in one staged_ids row.
const stageChunk = 10_000

// stage writes ids to staged_ids under a batch named after the idempotency
// key and the request's fingerprint, replacing what an earlier attempt of the
// same request left; another request under the same key gets another batch.
func (c *Client) stage(ctx context.Context, tenant int64, key, fingerprint string, ids []int64) (string, error) {
	sum := sha256.Sum256([]byte(key + "\x00" + fingerprint))
	batch := hex.EncodeToString(sum[:12])
	tx, err := c.staging.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("stage ids: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM staged_ids WHERE tenant_id = $1 AND batch = $2`, tenant, batch); err != nil {
		return "", fmt.Errorf("stage ids: %w", err)
	}
	for seq := 0; seq*stageChunk < len(ids); seq++ {
		chunk := ids[seq*stageChunk : min((seq+1)*stageChunk, len(ids))]
		if _, err := tx.ExecContext(ctx, `INSERT INTO staged_ids (tenant_id, batch, seq, ids) VALUES ($1, $2, $3, $4)`,
			tenant, batch, seq, pq.Array(chunk)); err != nil {
			return "", fmt.Errorf("stage ids (is tenant %d known to sweep?): %w", tenant, err)
		}
	}
	return batch, tx.Commit()
}

// waitResult polls the customers:delete task until a worker has written the
// import id, or the task was archived with an error.
func (c *Client) waitResult(ctx context.Context, taskID string) (int64, error) {
	t := time.NewTicker(c.PollInterval)
	defer t.Stop()
	for {
		info, err := c.inspector.GetTaskInfo(QueueCritical, taskID)
		switch {
		case err != nil && !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound):
			return 0, fmt.Errorf("read customers:delete task: %w", err)
		case err != nil:
			// Not visible yet, or expired: keep looking until ctx ends.
		case info.State == asynq.TaskStateCompleted:
			var res DeleteResult
			if err := json.Unmarshal(info.Result, &res); err != nil || res.ImportID == 0 {
				return 0, fmt.Errorf("customers:delete task %s finished without an import id (%q)", taskID, info.Result)
			}
			return res.ImportID, nil
		case info.State == asynq.TaskStateArchived:
			var res DeleteResult
			if json.Unmarshal(info.Result, &res) == nil && res.Error != nil {
				err := sweep.Errorf(res.Error.Code, "%s", res.Error.Message)
				if res.Error.Code == sweep.EKEYREUSED {
					return 0, fmt.Errorf("%w: %w", ErrKeyReused, err)
				}
				return 0, err
			}
			return 0, fmt.Errorf("customers:delete was refused: %s", info.LastErr)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for a sweep worker to take the request (is one running?): %w", ctx.Err())
		case <-t.C:
		}
	}
}

// Status returns the import's status as the workers last published it; an
// import they have not reported yet is ENOTFOUND.
func (c *Client) Status(ctx context.Context, tenant, importID int64) (wire.Import, error) {
	var st wire.Import
	b, err := c.rdb.Get(ctx, StatusKey(tenant, importID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return st, sweep.Errorf(sweep.ENOTFOUND, "No status of import %d of tenant %d yet.", importID, tenant)
	} else if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, err
	}
	// A status published by a worker older than the settled member has
	// import_id instead of id, and says awaits_operator only of a validated
	// import: read it the same.
	var old struct {
		ImportID int64 `json:"import_id"`
		Settled  *bool `json:"settled"`
	}
	if json.Unmarshal(b, &old) == nil && old.Settled == nil {
		st.ID = cmp.Or(st.ID, old.ImportID)
		st.Settled = st.Status.Settled() || st.AwaitsOperator
	}
	return st, nil
}

// Wait returns the import's status once it is settled (wire.Import.Settled:
// it has ended, completed, completed_with_errors, cancelled or failed, or it
// waits for a person, rejected or validated without starting by itself), or
// ctx's error.
func (c *Client) Wait(ctx context.Context, tenant, importID int64) (wire.Import, error) {
	t := time.NewTicker(c.PollInterval)
	defer t.Stop()
	for {
		st, err := c.Status(ctx, tenant, importID)
		if err == nil && st.Settled {
			return st, nil
		} else if err != nil && sweep.ErrorCode(err) != sweep.ENOTFOUND {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-t.C:
		}
	}
}
