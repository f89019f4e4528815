package uploader

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/sweephq/sweep"
)

// slots counts requests in flight per tenant, and in all, so that one tenant
// cannot take every connection, transaction or upload the API has: past its
// share a request is answered 429 at once instead of waiting.
type slots struct {
	mu        sync.Mutex
	perTenant int
	total     int // 0: no limit across tenants
	inUse     map[int64]int
	all       int
}

func newSlots(perTenant, total int) *slots {
	return &slots{perTenant: perTenant, total: total, inUse: map[int64]int{}}
}

// take reserves a slot for tenant. It answers "" when it did, else which
// limit is reached: "tenant" or "all".
func (s *slots) take(tenant int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inUse[tenant] >= s.perTenant {
		return "tenant"
	} else if s.total > 0 && s.all >= s.total {
		return "all"
	}
	s.inUse[tenant]++
	s.all++
	return ""
}

func (s *slots) give(tenant int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inUse[tenant]--; s.inUse[tenant] <= 0 {
		delete(s.inUse, tenant)
	}
	s.all--
}

// retryAfterSeconds is what a 429 answer tells the client to wait.
const retryAfterSeconds = 5

// inSlot runs fn in one of the tenant's slots of sl, or answers 429 when it
// has none left.
func (s *Server) inSlot(w http.ResponseWriter, r *http.Request, sl *slots, tenant int64, what string, fn func()) {
	if full := sl.take(tenant); full != "" {
		s.busy(w, r, sl, full, what)
		return
	}
	defer sl.give(tenant)
	fn()
}

// busy answers 429 with Retry-After, saying which limit was reached.
func (s *Server) busy(w http.ResponseWriter, r *http.Request, sl *slots, full, what string) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	msg := fmt.Sprintf("This tenant already has %d %s in progress, the most sweep takes at once from one tenant.", sl.perTenant, what)
	if full == "all" {
		msg = fmt.Sprintf("sweep already has %d %s in progress, the most it takes at once.", sl.total, what)
	}
	s.writeError(w, r, sweep.Errorf(sweep.EBUSY, "%s Try again in %d seconds.", msg, retryAfterSeconds))
}

// transfer wraps an upload or a CSV download: those last as long as the
// client takes, so a tenant may run only a few at once (and all tenants
// together a bounded number).
func (s *Server) transfer(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.inSlot(w, r, s.transferSlots, principal(r).TenantID, "uploads or downloads", func() { next(w, r) })
	}
}
