package jobs

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// OpenRedis returns a client for the Redis that carries sweep's tasks, named
// by one of these URLs:
//
//	redis://[user:password@]host:6379/0            one Redis (rediss:// for TLS)
//	redis-sentinel://[user:password@]host1:26379,host2:26379/mymaster?db=0
//	                                                 the master of a Sentinel-managed
//	                                                 group (rediss-sentinel:// for TLS);
//	                                                 sentinel_username and
//	                                                 sentinel_password when the
//	                                                 sentinels need their own
//
// With Sentinel the client asks the sentinels for the current master and
// follows a failover by itself. Maintenance notifications (a Redis Enterprise
// feature) are off, so a plain Redis does not fill the logs with warnings.
func OpenRedis(raw string) (redis.UniversalClient, error) {
	if isSentinelURL(raw) {
		opt, err := parseSentinelURL(raw)
		if err != nil {
			return nil, err
		}
		return redis.NewFailoverClient(opt), nil
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return redis.NewClient(opt), nil
}

// CheckRedisURL reports what is wrong with a Redis URL, or nil.
func CheckRedisURL(raw string) error {
	if isSentinelURL(raw) {
		_, err := parseSentinelURL(raw)
		return err
	}
	_, err := redis.ParseURL(raw)
	return err
}

// RedisURLWithDB returns raw naming Redis DB db instead of its own.
func RedisURLWithDB(raw string, db int) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("redis URL: %w", err)
	}
	if isSentinelURL(raw) {
		q := u.Query()
		q.Set("db", strconv.Itoa(db))
		u.RawQuery = q.Encode()
	} else {
		u.Path = "/" + strconv.Itoa(db)
	}
	return u.String(), nil
}

func isSentinelURL(raw string) bool {
	return strings.HasPrefix(raw, "redis-sentinel://") || strings.HasPrefix(raw, "rediss-sentinel://")
}

// parseSentinelURL reads redis-sentinel://[user:password@]h1:p1,h2:p2/master?db=N.
func parseSentinelURL(raw string) (*redis.FailoverOptions, error) {
	scheme, rest, _ := strings.Cut(raw, "://")
	bad := func(format string, args ...any) error {
		return fmt.Errorf("redis sentinel URL: "+format+"; write it as redis-sentinel://[user:password@]host1:26379,host2:26379/mastername?db=0", args...)
	}
	rest, query, _ := strings.Cut(rest, "?")
	hostsPart, master, _ := strings.Cut(rest, "/")
	opt := &redis.FailoverOptions{MasterName: strings.Trim(master, "/")}
	if userinfo, hosts, ok := strings.Cut(hostsPart, "@"); ok {
		ui, err := url.Parse("x://" + userinfo + "@x")
		if err != nil {
			return nil, bad("the user and password cannot be read")
		}
		opt.Username = ui.User.Username()
		opt.Password, _ = ui.User.Password()
		hostsPart = hosts
	}
	for _, h := range strings.Split(hostsPart, ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if !strings.Contains(h, ":") {
			h += ":26379"
		}
		opt.SentinelAddrs = append(opt.SentinelAddrs, h)
	}
	if len(opt.SentinelAddrs) == 0 {
		return nil, bad("no sentinel address")
	}
	if opt.MasterName == "" {
		return nil, bad("no master name")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, bad("the query cannot be read")
	}
	if s := q.Get("db"); s != "" {
		if opt.DB, err = strconv.Atoi(s); err != nil || opt.DB < 0 {
			return nil, bad("db must be a whole number; found %q", s)
		}
	}
	opt.SentinelUsername, opt.SentinelPassword = q.Get("sentinel_username"), q.Get("sentinel_password")
	if scheme == "rediss-sentinel" {
		opt.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return opt, nil
}
