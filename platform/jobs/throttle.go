package jobs

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// throttle caps the bulk tasks a tenant runs at once, so one tenant's million-row
// import cannot take every worker. Each running task holds a lease (a member of a
// sorted set scored by its expiry); a crashed worker's lease simply expires.
type throttle struct {
	rdb   redis.UniversalClient
	limit int
	lease time.Duration
}

var acquireScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`)

func throttleKey(tenant uuid.UUID) string { return "clientele:bulk:" + tenant.String() }

// acquire takes (or renews) the task's lease; false means the tenant is at its limit.
func (t *throttle) acquire(ctx context.Context, tenant, job uuid.UUID) (bool, error) {
	now := time.Now()
	n, err := acquireScript.Run(ctx, t.rdb, []string{throttleKey(tenant)},
		now.UnixMilli(), now.Add(t.lease).UnixMilli(), job.String(), t.limit, (2 * t.lease).Milliseconds()).Int()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

func (t *throttle) release(ctx context.Context, tenant, job uuid.UUID) {
	t.rdb.ZRem(ctx, throttleKey(tenant), job.String())
}
