package sweep_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
)

func TestParseScopes(t *testing.T) {
	tests := []struct {
		in      string
		want    []sweep.Scope
		wantErr string
	}{
		{in: "imports:read", want: []sweep.Scope{sweep.ScopeImportsRead}},
		{in: " imports:write , imports:read,customers:delete", want: []sweep.Scope{sweep.ScopeCustomersDelete, sweep.ScopeImportsRead, sweep.ScopeImportsWrite}},
		{in: "ADMIN,admin", want: []sweep.Scope{sweep.ScopeAdmin}},
		{in: "imports:read,", want: []sweep.Scope{sweep.ScopeImportsRead}},
		{in: "", wantErr: "at least one scope is required"},
		{in: " , ", wantErr: "at least one scope is required"},
		{in: "imports:read,delete-everything", wantErr: `unknown scope "delete-everything"; valid scopes are imports:read, imports:write, imports:approve, customers:delete, admin.`},
	}
	for _, tt := range tests {
		got, err := sweep.ParseScopes(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(sweep.ErrorMessage(err), tt.wantErr) {
				t.Errorf("ParseScopes(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
			if sweep.ErrorCode(err) != sweep.EINVALID {
				t.Errorf("ParseScopes(%q) code = %q, want %q", tt.in, sweep.ErrorCode(err), sweep.EINVALID)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseScopes(%q) error: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseScopes(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestTokenHashing(t *testing.T) {
	a, b := sweep.NewToken(), sweep.NewToken()
	if a == b {
		t.Fatal("two new tokens are equal")
	}
	if !strings.HasPrefix(a, sweep.TokenPrefix) || len(a) != len(sweep.TokenPrefix)+43 {
		t.Errorf("token %q: want prefix %q and 43 characters of base64url", a, sweep.TokenPrefix)
	}
	if !bytes.Equal(sweep.HashToken(a), sweep.HashToken(a)) {
		t.Error("HashToken is not deterministic")
	}
	if bytes.Equal(sweep.HashToken(a), sweep.HashToken(b)) {
		t.Error("two tokens hash the same")
	}
	if h := sweep.HashToken(a); len(h) != 32 || bytes.Contains(h, []byte(a)) {
		t.Errorf("hash has %d bytes; want a 32-byte SHA-256 that does not contain the token", len(h))
	}
	// The known SHA-256 of "abc" pins the algorithm, so stored hashes stay valid
	// across releases.
	if got, want := sweep.HashToken("abc"), []byte{0xba, 0x78, 0x16, 0xbf}; !bytes.HasPrefix(got, want) {
		t.Errorf("HashToken(abc) = %x, want the SHA-256 starting %x", got, want)
	}
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]sweep.Policy{"": sweep.PolicyLine, "LINE": sweep.PolicyLine, " file ": sweep.PolicyFile} {
		if got, err := sweep.ParsePolicy(in); err != nil || got != want {
			t.Errorf("ParsePolicy(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := sweep.ParsePolicy("strict"); sweep.ErrorCode(err) != sweep.EINVALID {
		t.Errorf("ParsePolicy(strict) error = %v, want EINVALID", err)
	}
}
