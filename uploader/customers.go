package uploader

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/sweephq/sweep"
)

// handleDeleteCustomer deletes one customer: 204, 404 when the tenant has no
// such customer, 409 with an instruction when a loan links it. The id is
// the platform's key: a whole number, a uuid or text, as the plan's key is.
func (s *Server) handleDeleteCustomer(w http.ResponseWriter, r *http.Request) {
	s.deleteCustomer(w, r, r.PathValue("id"))
}

func (s *Server) deleteCustomer(w http.ResponseWriter, r *http.Request, raw string) {
	p := principal(r)
	if err := s.db.DeleteCustomerByKey(r.Context(), p.TenantID, raw, p.TokenID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "customer deleted", "tenant_id", p.TenantID, "token_id", p.TokenID)
	w.WriteHeader(http.StatusNoContent)
}

// odataCustomer matches the platform's own path for a customer, Customers(42)
// (an "L" suffix for a long literal is accepted too), as sent on the wire:
// the parentheses may be percent-escaped, the id's digits may not (one
// spelling of an id, as on every other route).
var odataCustomer = regexp.MustCompile(`^Customers(?:\(|%28)([0-9]+)L?(?:\)|%29)$`)

// handleODataDelete serves DELETE /api/public/api/1/odata.svc/Customers({id})
// as the platform does: the tenant comes from the Autopal-Instance-Id header
// and must be the token's.
func (s *Server) handleODataDelete(w http.ResponseWriter, r *http.Request) {
	m := odataCustomer.FindStringSubmatch(strings.TrimPrefix(r.URL.EscapedPath(), odataPrefix))
	if m == nil {
		s.writeError(w, r, sweep.Errorf(sweep.ENOTFOUND, "Use DELETE %sCustomers(<id>) to delete a customer.", odataPrefix))
		return
	}
	inst := strings.TrimSpace(r.Header.Get("Autopal-Instance-Id"))
	tenant, err := strconv.ParseInt(inst, 10, 64)
	if err != nil || tenant <= 0 {
		s.writeError(w, r, sweep.Errorf(sweep.EINVALID, "Send the instance id in the Autopal-Instance-Id header, such as Autopal-Instance-Id: 5200243."))
		return
	}
	if tenant != principal(r).TenantID {
		s.writeError(w, r, sweep.Errorf(sweep.EFORBIDDEN, "The token does not belong to instance %d.", tenant))
		return
	}
	s.deleteCustomer(w, r, m[1])
}

const odataPrefix = "/api/public/api/1/odata.svc/"
