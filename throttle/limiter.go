package throttle

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limiter paces runs under rows-per-second caps kept in Redis, so one cap
// binds every worker process on every machine that shares the Redis.
//
// Each cap is a "theoretical arrival time" (GCRA): a run that has just done n
// rows moves it n/rate seconds on from the later of itself and now, and waits
// until it before its next chunk. Over any span, the rows done under a cap are
// at most rate × span plus one chunk per run. Time is Redis's own clock, so the
// machines' clocks need not agree.
type Limiter struct {
	rdb redis.UniversalClient
}

// NewLimiter returns a Limiter over rdb.
func NewLimiter(rdb redis.UniversalClient) *Limiter { return &Limiter{rdb: rdb} }

const globalKey = "sweep:rate:global"

// ImportKey is the Redis key of import id's own cap.
func ImportKey(tenant, id int64) string { return fmt.Sprintf("sweep:rate:import:%d:%d", tenant, id) }

// GlobalKey is the Redis key of the cap shared by every run.
func GlobalKey() string { return globalKey }

// paceScript moves the key's arrival time on by ARGV[1] microseconds from
// the later of itself and now, and returns how many microseconds from now it
// lies. The key expires once it lies in the past.
var paceScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
tat = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 1000)
return math.floor(tat - now)
`)

// Done records that a run did rows under the cap of key at rate rows per
// second, and returns how long it must wait before its next chunk.
func (l *Limiter) Done(ctx context.Context, key string, rate, rows int) (time.Duration, error) {
	if rate <= 0 || rows <= 0 {
		return 0, nil
	}
	cost := int64(rows) * 1_000_000 / int64(rate)
	us, err := paceScript.Run(ctx, l.rdb, []string{key}, cost).Int64()
	if err != nil {
		return 0, fmt.Errorf("pace under the cap %s: %w", key, err)
	}
	return time.Duration(us) * time.Microsecond, nil
}
