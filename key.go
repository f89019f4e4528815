package sweep

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// KeyKind is how the platform spells its customers' keys: the type of the
// erasure plan's subject.key. It decides how a file's customerId and a
// path's id are read.
type KeyKind int

const (
	// KeyWhole is a whole number (bigint, integer, smallint): 1042.
	KeyWhole KeyKind = iota
	// KeyUUID is a uuid: 3f2b8c1e-5d4a-4e8f-9b1c-7a6d5e4f3c2b.
	KeyUUID
	// KeyText is text or character varying: any printable string.
	KeyText
)

// MaxKeyBytes bounds a text key: longer keys are refused (a platform whose
// keys are longer names a shorter key in its plan).
const MaxKeyBytes = 200

// Key is how a platform's key is read: its kind and, for text, the longest
// it can be in characters (0: MaxKeyBytes bytes).
type Key struct {
	Kind   KeyKind
	MaxLen int
}

// String names the kind as the plan's type does.
func (k KeyKind) String() string {
	switch k {
	case KeyUUID:
		return "uuid"
	case KeyText:
		return "text"
	}
	return "whole number"
}

// Example is a key of this kind, for messages.
func (k Key) Example() string {
	switch k.Kind {
	case KeyUUID:
		return "3f2b8c1e-5d4a-4e8f-9b1c-7a6d5e4f3c2b"
	case KeyText:
		return "CUST-1042"
	}
	return "1042"
}

// Parse reads a customer's key as a file writes it and returns it in the
// one spelling the database gives it back (a uuid in lower case with
// hyphens), or "" and what to do. A whole number or a uuid may have spaces
// around it; text is taken exactly as written. A whole number is checked
// by ParseCustomerID.
func (k Key) Parse(s string) (string, string) {
	switch k.Kind {
	case KeyUUID:
		t := strings.TrimSpace(s)
		if t == "" {
			return "", fmt.Sprintf("%s is empty. Write the customer's id, a UUID such as %s.", ColumnCustomerID, k.Example())
		}
		if u, ok := canonicalUUID(t); ok {
			return u, ""
		}
		return "", fmt.Sprintf("%s must be a UUID such as %s (32 hexadecimal digits, in groups of 8-4-4-4-12); found %s. Check the id.", ColumnCustomerID, k.Example(), strconv.Quote(truncate(t, 40)))
	case KeyText:
		// Taken exactly as written: PostgreSQL tells "CUST-1" from
		// "CUST-1 ", so trimming could name another customer.
		t := s
		switch {
		case strings.TrimSpace(t) == "":
			return "", fmt.Sprintf("%s is empty. Write the customer's id, such as %s.", ColumnCustomerID, k.Example())
		case !utf8.ValidString(t):
			return "", fmt.Sprintf("%s is not UTF-8 text. Save the file as CSV UTF-8 and write the id as the platform shows it.", ColumnCustomerID)
		case strings.TrimSpace(t) != t:
			return "", fmt.Sprintf("%s %s has spaces around it. sweep takes text ids exactly as written, since another customer's id may differ only by them: remove the spaces.", ColumnCustomerID, strconv.Quote(truncate(t, 40)))
		case HasControl(t):
			return "", fmt.Sprintf("%s holds a control character (a tab, a line break or another invisible one); found %s. Write the id as the platform shows it.", ColumnCustomerID, strconv.Quote(truncate(t, 40)))
		case len(t) > MaxKeyBytes:
			return "", fmt.Sprintf("%s is %d bytes long; ids are at most %d. Check the value.", ColumnCustomerID, len(t), MaxKeyBytes)
		case k.MaxLen > 0 && utf8.RuneCountInString(t) > k.MaxLen:
			return "", fmt.Sprintf("%s is %d characters long; the platform's ids are at most %d. Check the value.", ColumnCustomerID, utf8.RuneCountInString(t), k.MaxLen)
		}
		return t, ""
	}
	id, msg := ParseCustomerID(s)
	if msg != "" {
		return "", msg
	}
	return strconv.FormatInt(id, 10), ""
}

// ParsePath reads a key written in a URL path: a whole number as
// ParsePathID has it, a uuid in any spelling PostgreSQL reads, text as
// it is (a path is unescaped before).
func (k Key) ParsePath(s string) (string, bool) {
	switch k.Kind {
	case KeyUUID:
		return canonicalUUID(s)
	case KeyText:
		t, msg := k.Parse(s)
		return t, msg == "" && t == s
	}
	id, ok := ParsePathID(s)
	if !ok {
		return "", false
	}
	return strconv.FormatInt(id, 10), true
}

// canonicalUUID reads a uuid as PostgreSQL does (upper or lower case,
// hyphens between any groups of four digits or none, optionally in
// braces) and writes it as PostgreSQL does.
func canonicalUUID(s string) (string, bool) {
	if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' {
		s = s[1 : len(s)-1]
	}
	var hex []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
			hex = append(hex, c)
		case c >= 'A' && c <= 'F':
			hex = append(hex, c+'a'-'A')
		case c == '-' && len(hex) > 0 && len(hex)%4 == 0 && i+1 < len(s) && s[i+1] != '-':
		default:
			return "", false
		}
	}
	if len(hex) != 32 {
		return "", false
	}
	h := string(hex)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], true
}
