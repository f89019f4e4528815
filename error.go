package sweep

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer. The HTTP layer maps each code to a status in
// one table; the worker decides retry or not from them.
const (
	ECONFLICT     = "conflict"            // the resource is in a state that forbids the request
	EINTERNAL     = "internal"            // an unexpected failure; the message is generic
	EINVALID      = "invalid"             // the request or its input is malformed
	ENOTFOUND     = "not_found"           // no such resource for this tenant
	EUNAUTHORIZED = "unauthorized"        // no valid token
	EFORBIDDEN    = "forbidden"           // a valid token without the needed scope
	ETOOLARGE     = "too_large"           // a body or a file over the configured limit
	ELINKED       = "linked_to_loan"      // a customer still linked to a loan
	EUNAVAILABLE  = "unavailable"         // a dependency (PostgreSQL, Redis) is unreachable
	EUNSUPPORTED  = "unsupported"         // a request body of a media type the API does not read (415)
	EVERSION      = "unsupported_version" // a task payload of a version this build does not read
	EBUSY         = "too_many_requests"   // the tenant has as many requests in flight as it may; retry later
)

// Error is a domain error: a machine-readable code and a message written for the
// person who has to act on it.
type Error struct {
	Code    string
	Message string
	// Param names the request's parameter at fault (a query parameter, a
	// form field or a path's id), when there is one.
	Param string
}

// For names the request's parameter at fault; it returns e.
func (e *Error) For(param string) *Error {
	e.Param = param
	return e
}

// ErrorParam returns the Param of the first *Error in err's chain ("" for
// none).
func ErrorParam(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Param
	}
	return ""
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("sweep error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain, or a
// generic message for any other error so internals never leak to a client.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
