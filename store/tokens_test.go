package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

// A token's name is one person to whoever reads a timeline or an approval:
// it is required, and unique in its tenant among active tokens whatever its
// case and spaces, and the refusal names the token in the way; a revoked
// token's name is free again, another tenant's never in the way, and
// ReplaceToken revokes the old token of the name as it makes the new one.
func TestTokenNamesAreUniqueAmongActiveTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	const tenant, other = 5200243, 5200244
	for _, tn := range []int64{tenant, other} {
		if err := db.EnsureTenant(ctx, tn, "t"); err != nil {
			t.Fatal(err)
		}
	}
	scopes := []sweep.Scope{sweep.ScopeImportsRead}
	_, ops, err := db.CreateToken(ctx, tenant, "ops", scopes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ops", " OPS ", "Ops"} {
		_, _, err := db.CreateToken(ctx, tenant, name, scopes)
		if sweep.ErrorCode(err) != sweep.ECONFLICT || !strings.Contains(sweep.ErrorMessage(err), "already has an active token named") ||
			!strings.Contains(sweep.ErrorMessage(err), "sweep token revoke --tenant 5200243 --id 1") {
			t.Errorf("CreateToken(%q) while ops is active: %v; want a conflict naming token %d", name, err, ops)
		}
	}
	for _, name := range []string{"", "   ", "a\tb"} {
		if _, _, err := db.CreateToken(ctx, tenant, name, scopes); sweep.ErrorCode(err) != sweep.EINVALID {
			t.Errorf("CreateToken(%q): %v; want invalid", name, err)
		}
	}
	if _, _, err := db.CreateToken(ctx, other, "ops", scopes); err != nil {
		t.Errorf("another tenant's ops: %v", err)
	}
	if err := db.RevokeToken(ctx, tenant, ops); err != nil {
		t.Fatal(err)
	}
	_, ops2, err := db.CreateToken(ctx, tenant, " ops ", scopes)
	if err != nil {
		t.Fatalf("ops after the first was revoked: %v", err)
	}
	token3, ops3, revoked, err := db.ReplaceToken(ctx, tenant, "OPS", scopes)
	if err != nil || revoked != ops2 {
		t.Fatalf("ReplaceToken: revoked %d, %v; want %d", revoked, err, ops2)
	}
	if p, err := db.Authenticate(ctx, token3); err != nil || p.TokenID != ops3 || p.Name != "OPS" {
		t.Errorf("the replacing token: %+v, %v", p, err)
	}
	var active []string
	db.SQL().Select(&active, `SELECT name FROM api_tokens WHERE tenant_id = $1 AND revoked_at IS NULL ORDER BY id`, tenant)
	if diff := cmp.Diff([]string{"OPS"}, active); diff != "" {
		t.Errorf("active tokens (-want +got):\n%s", diff)
	}
}

// Upgrading a database whose active tokens share names keeps the oldest of
// each name as it is and renames the later ones after their ids; revoked
// tokens and other tenants' are left alone.
func TestApproverTokensMigrationRenamesDuplicateNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	m, err := store.NewMigrator(db.SQL().DB, store.DefaultSchema)
	if err != nil {
		t.Fatal(err)
	}
	for {
		v, err := m.Down(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v <= 14 {
			break
		}
	}
	db.SQL().MustExec(`INSERT INTO tenants (id, name) VALUES (1, 'a'), (2, 'b')`)
	for i, tok := range []struct {
		tenant  int64
		name    string
		revoked bool
	}{
		{1, "ops", false}, {1, " OPS", false}, {1, "ops", true}, {1, "Ops ", false}, {1, "lead", false},
		{2, "ops", false}, {1, "", false}, {1, "", false},
	} {
		db.SQL().MustExec(`INSERT INTO api_tokens (tenant_id, token_hash, name, scopes, revoked_at)
			VALUES ($1, sha256(convert_to($2, 'UTF8')), $3, '{imports:read}', CASE WHEN $4 THEN now() END)`,
			tok.tenant, strings.Repeat("x", i+1), tok.name, tok.revoked)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("up with duplicate names: %v", err)
	}
	var names []string
	db.SQL().Select(&names, `SELECT name FROM api_tokens ORDER BY id`)
	want := []string{"ops", " OPS #2", "ops", "Ops  #4", "lead", "ops", "", "token #8"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("names after the upgrade (-want +got):\n%s", diff)
	}
}

// A name holding a character nobody sees is refused, saying which, and
// stores nothing; a name stored before that refusal still counts as the
// name it reads as: a new token may not take it, --replace revokes it, and
// its holder may not approve what a token of the name it reads as asked for.
func TestTokenNamesIgnoreInvisibleCharacters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	const tenant = 5200243
	if err := db.EnsureTenant(ctx, tenant, "t"); err != nil {
		t.Fatal(err)
	}
	scopes := []sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsApprove}
	_, ops, err := db.CreateToken(ctx, tenant, "ops", scopes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ops\u200b", "\u202eops", "ops\u00a0lead", "risk\u2028lead"} {
		_, _, err := db.CreateToken(ctx, tenant, name, scopes)
		if sweep.ErrorCode(err) != sweep.EINVALID || !strings.Contains(sweep.ErrorMessage(err), "may not hold control or invisible characters") {
			t.Errorf("CreateToken(%q): %v; want invalid", name, err)
		}
		if _, _, _, err := db.ReplaceToken(ctx, tenant, name, scopes); sweep.ErrorCode(err) != sweep.EINVALID {
			t.Errorf("ReplaceToken(%q): %v; want invalid", name, err)
		}
	}
	var active []string
	db.SQL().Select(&active, `SELECT name FROM api_tokens WHERE tenant_id = $1 AND revoked_at IS NULL ORDER BY id`, tenant)
	if diff := cmp.Diff([]string{"ops"}, active); diff != "" {
		t.Errorf("active tokens after the refusals (-want +got):\n%s", diff)
	}

	// Stored before names were checked.
	var lead int64
	db.SQL().Get(&lead, `INSERT INTO api_tokens (tenant_id, token_hash, name, scopes)
		VALUES ($1, sha256('lead'), E'lead\u200b', '{imports:read}') RETURNING id`, tenant)
	for _, name := range []string{"lead", "LEAD", "lead\u200b\u200b"} {
		_, _, err := db.CreateToken(ctx, tenant, name, scopes)
		if strings.Contains(name, "\u200b") {
			if sweep.ErrorCode(err) != sweep.EINVALID {
				t.Errorf("CreateToken(%q): %v; want invalid", name, err)
			}
			continue
		}
		if sweep.ErrorCode(err) != sweep.ECONFLICT || !strings.Contains(sweep.ErrorMessage(err), fmt.Sprintf("(token %d)", lead)) {
			t.Errorf("CreateToken(%q) while %q is active: %v; want a conflict naming token %d", name, "lead\u200b", err, lead)
		}
	}
	_, _, revoked, err := db.ReplaceToken(ctx, tenant, "Lead", scopes)
	if err != nil || revoked != lead {
		t.Fatalf("ReplaceToken(Lead): revoked %d, %v; want %d", revoked, err, lead)
	}
	active = nil
	db.SQL().Select(&active, `SELECT name FROM api_tokens WHERE tenant_id = $1 AND revoked_at IS NULL ORDER BY id`, tenant)
	if diff := cmp.Diff([]string{"ops", "Lead"}, active); diff != "" {
		t.Errorf("active tokens after the replace (-want +got):\n%s", diff)
	}

	// An "ops" with a zero-width space, stored before, approves nothing
	// "ops" asked for.
	var opsZW int64
	db.SQL().Get(&opsZW, `INSERT INTO api_tokens (tenant_id, token_hash, name, scopes)
		VALUES ($1, sha256('ops'), E'ops\u200b', '{imports:read,imports:approve}') RETURNING id`, tenant)
	var id int64
	if err := db.SQL().Get(&id, `INSERT INTO imports (tenant_id, source, status, key_space, approval_requested_by, approval_requested_token,
		approval_requested_at, approval_expires_at) VALUES ($1, 'upload', 'awaiting_approval', 'http', 'ops', $2, now(), now() + interval '1 hour') RETURNING id`,
		tenant, ops); err != nil {
		t.Fatal(err)
	}
	for verb, decide := range map[string]func(sweep.ApprovalStep) (sweep.Import, error){
		"approve": func(s sweep.ApprovalStep) (sweep.Import, error) { return db.ApproveImport(ctx, tenant, id, s) },
		"reject":  func(s sweep.ApprovalStep) (sweep.Import, error) { return db.RejectImport(ctx, tenant, id, s) },
	} {
		_, err := decide(sweep.ApprovalStep{By: "ops\u200b", ByToken: opsZW, Reason: "no"})
		if sweep.ErrorCode(err) != sweep.EFORBIDDEN || !strings.Contains(sweep.ErrorMessage(err), "has the name of the token that asked") {
			t.Errorf("%s by %q: %v; want forbidden, one person to a reader", verb, "ops\u200b", err)
		}
	}
	if got, err := db.GetImport(ctx, tenant, id); err != nil || got.Status != sweep.StatusAwaitingApproval {
		t.Errorf("import after the refusals: %v, %v; want still awaiting approval", got.Status, err)
	}
}
