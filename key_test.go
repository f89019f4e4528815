package sweep_test

import (
	"strings"
	"testing"

	"github.com/sweephq/sweep"
)

// A file's customerId of a uuid key is read in every spelling PostgreSQL
// reads and given back in the one it writes, so two spellings of one
// customer are one customer; anything else is refused with what to do.
func TestUUIDKeysAreReadAsPostgreSQLReadsThem(t *testing.T) {
	k := sweep.Key{Kind: sweep.KeyUUID}
	const want = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
	for _, in := range []string{
		"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
		"a0eebc999c0b4ef8bb6d6bb9bd380a11", "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ",
	} {
		if got, msg := k.Parse(in); got != want || msg != "" {
			t.Errorf("Parse(%q) = %q, %q; want %s", in, got, msg, want)
		}
	}
	for _, in := range []string{
		"", "12345", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111", "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		"a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11", "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
		"a0eeb-c99-9c0b-4ef8-bb6d-6bb9bd380a11", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99 9c0b 4ef8 bb6d 6bb9bd380a11",
		"aa0eebc999c0b4ef8bb6d6bb9bd380a11}", "{a0eebc999c0b4ef8bb6d6bb9bd380a11a", // one brace only
	} {
		if got, msg := k.Parse(in); got != "" || !strings.Contains(msg, "customerId") {
			t.Errorf("Parse(%q) = %q, %q; want refused with a sentence naming customerId", in, got, msg)
		}
	}
	if _, ok := k.ParsePath(" " + want); ok {
		t.Errorf("a path with a space names a customer")
	}
	if got, ok := k.ParsePath(strings.ToUpper(want)); !ok || got != want {
		t.Errorf("ParsePath(upper case) = %q, %v", got, ok)
	}
}

// A text key is taken exactly as written, up to the column's length (in
// characters) and MaxKeyBytes; empty, spaces around it (any Unicode space:
// "CUST-1\u00a0" is another customer than "CUST-1"), invalid UTF-8,
// control characters and longer are refused.
func TestTextKeysAreTakenAsWritten(t *testing.T) {
	k := sweep.Key{Kind: sweep.KeyText, MaxLen: 5}
	for in, want := range map[string]string{"CUST1": "CUST1", "ab c": "ab c", "ééééé": "ééééé", "=1+2": "=1+2"} {
		if got, msg := k.Parse(in); got != want || msg != "" {
			t.Errorf("Parse(%q) = %q, %q; want %q", in, got, msg, want)
		}
	}
	for in, has := range map[string]string{"": "empty", "   ": "empty", "CUST12": "at most 5", "a\tb": "control", "a\x00b": "control",
		" ab": "spaces around", "ab ": "spaces around", "ab\u00a0": "spaces around", "a\xffb": "not UTF-8"} {
		if got, msg := k.Parse(in); got != "" || !strings.Contains(msg, has) {
			t.Errorf("Parse(%q) = %q, %q; want refused, saying %q", in, got, msg, has)
		}
	}
	long := sweep.Key{Kind: sweep.KeyText}
	if _, msg := long.Parse(strings.Repeat("x", sweep.MaxKeyBytes+1)); !strings.Contains(msg, "at most 200") {
		t.Errorf("a key over %d bytes: %q", sweep.MaxKeyBytes, msg)
	}
	// Exactly MaxKeyBytes, and any length with no column limit (text), pass.
	for _, in := range []string{strings.Repeat("x", sweep.MaxKeyBytes), "x"} {
		if got, msg := long.Parse(in); got != in || msg != "" {
			t.Errorf("a text key of %d bytes: %q, %q", len(in), got, msg)
		}
	}
	if _, msg := (sweep.Key{Kind: sweep.KeyText, MaxLen: 1}).Parse("ab"); !strings.Contains(msg, "at most 1") {
		t.Errorf("a two-character key where the column holds one: %q", msg)
	}
	if got, ok := long.ParsePath(" a"); ok {
		t.Errorf("ParsePath(%q) = %q: a path with surrounding spaces names a customer", " a", got)
	}
	if got, ok := long.ParsePath(""); ok {
		t.Errorf("ParsePath of nothing = %q: names a customer", got)
	}
	if got, ok := long.ParsePath("CUST-1"); !ok || got != "CUST-1" {
		t.Errorf("ParsePath(CUST-1) = %q, %v", got, ok)
	}
	if got, ok := long.ParsePath("CUST-1\x00"); ok {
		t.Errorf("ParsePath of a NUL = %q: names a customer", got)
	}
	// A whole number is read as ever: a file forgives spaces and leading
	// zeros, a path takes one spelling.
	whole := sweep.Key{}
	if got, msg := whole.Parse(" 0042 "); got != "42" || msg != "" {
		t.Errorf("whole Parse = %q, %q", got, msg)
	}
	if _, msg := whole.Parse("4x2"); msg == "" {
		t.Errorf("whole Parse(4x2) passed")
	}
	for in, want := range map[string]bool{"42": true, "042": false, " 42": false, "-42": false, "": false} {
		got, ok := whole.ParsePath(in)
		if ok != want || (ok && got != in) {
			t.Errorf("whole ParsePath(%q) = %q, %v; want %v", in, got, ok, want)
		}
	}
}
