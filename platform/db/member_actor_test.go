package db_test

import (
	"context"
	"reflect"
	"sort"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// correlatedMemberActor is the member lookup as it was before it filtered every
// table on the tenant parameter (migration 20261214000300): the subqueries reach
// the tenant only through the correlation with memberships, which Citus cannot
// prune, so it ran on every shard. Kept here as the benchmark's "before".
const correlatedMemberActor = `CREATE OR REPLACE FUNCTION bench_member_actor_correlated(p_tenant uuid, p_identity uuid)
RETURNS TABLE (role text, permissions text[], scope text, teams uuid[], teammates uuid[])
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public AS $$
BEGIN
    EXECUTE format('SET LOCAL app.tenant_id = %L', p_tenant);
    RETURN QUERY
        SELECT m.role,
               coalesce((SELECT r.permissions FROM roles r WHERE r.tenant_id = m.tenant_id AND r.key = m.role), '{}'::text[]),
               coalesce((SELECT r.scope FROM roles r WHERE r.tenant_id = m.tenant_id AND r.key = m.role), ''),
               coalesce((SELECT array_agg(tm.team_id) FROM team_members tm
                         WHERE tm.tenant_id = m.tenant_id AND tm.identity_id = m.identity_id), '{}'::uuid[]),
               coalesce((SELECT array_agg(DISTINCT tm2.identity_id)
                         FROM team_members tm1
                         JOIN team_members tm2 ON tm2.tenant_id = tm1.tenant_id AND tm2.team_id = tm1.team_id
                         WHERE tm1.tenant_id = m.tenant_id AND tm1.identity_id = m.identity_id), '{}'::uuid[])
        FROM memberships m
        WHERE m.tenant_id = p_tenant AND m.identity_id = p_identity;
END $$`

type actorRow struct {
	Role        string   `bun:"role"`
	Permissions []string `bun:"permissions,array"`
	Scope       string   `bun:"scope"`
	Teams       []string `bun:"teams,array"`
	Teammates   []string `bun:"teammates,array"`
}

// memberFixture makes a tenant with a custom role, a member holding it, a
// teammate in a shared team, and a member of another tenant with the same
// identity, so a lookup that leaked across tenants would show.
func memberFixture(t testing.TB, env *testkit.Env) (tenant, identity, teammate uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	a, other := env.NewTenant(t), env.NewTenant(t)
	identity, teammate = uuid.New(), uuid.New()
	team, otherTeam := uuid.New(), uuid.New()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO roles (tenant_id, key, name, permissions, scope) VALUES (?, 'closer', 'Closer', '{deals.read,deals.write}', 'team')", []any{a.ID}},
		{"INSERT INTO roles (tenant_id, key, name, permissions, scope) VALUES (?, 'closer', 'Closer', '{everything}', 'all')", []any{other.ID}},
		{"INSERT INTO memberships (tenant_id, identity_id, role, email) VALUES (?, ?, 'closer', 'm@example.com'), (?, ?, 'member', 't@example.com'), (?, ?, 'closer', 'm@example.com')",
			[]any{a.ID, identity, a.ID, teammate, other.ID, identity}},
		{"INSERT INTO teams (tenant_id, id, name) VALUES (?, ?, 'North'), (?, ?, 'North')", []any{a.ID, team, other.ID, otherTeam}},
		{"INSERT INTO team_members (tenant_id, team_id, identity_id) VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)",
			[]any{a.ID, team, identity, a.ID, team, teammate, other.ID, otherTeam, identity}},
	} {
		if _, err := env.Owner.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("member fixture: %v", err)
		}
	}
	return a.ID, identity, teammate
}

func lookupActor(ctx context.Context, d *bun.DB, fn string, tenant, identity uuid.UUID) (actorRow, error) {
	var m actorRow
	err := db.ScopedCall(ctx, d, func(ctx context.Context, q bun.IDB) error {
		return q.NewRaw("SELECT role, permissions, scope, teams::text[] AS teams, teammates::text[] AS teammates FROM "+fn+"(?, ?)",
			tenant, identity).Scan(ctx, &m)
	})
	sort.Strings(m.Teammates)
	return m, err
}

// The member lookup, as the app role, returns the member's role, grants, team and
// teammates of the asked tenant only, on one node and on Citus.
func TestMemberActorReadsOneTenant(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	tenant, identity, teammate := memberFixture(t, env)
	got, err := lookupActor(ctx, env.App, "clientele_member_actor", tenant, identity)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{identity.String(), teammate.String()}
	sort.Strings(want)
	if got.Role != "closer" || got.Scope != "team" || !reflect.DeepEqual(got.Permissions, []string{"deals.read", "deals.write"}) ||
		len(got.Teams) != 1 || !reflect.DeepEqual(got.Teammates, want) {
		t.Fatalf("member actor = %+v, want closer/team with deals.read, deals.write, one team, teammates %v", got, want)
	}
	if _, err := lookupActor(ctx, env.App, "clientele_member_actor", tenant, uuid.New()); err == nil {
		t.Fatal("a stranger's lookup found a row")
	}
}

// BenchmarkMemberActor compares the member lookup every API request makes with the
// former form, whose subqueries reached the tenant only through the correlation
// with memberships. On one node the two plan alike; on Citus the former ran on
// every shard.
func BenchmarkMemberActor(b *testing.B) {
	env := testkit.Get(b)
	ctx := context.Background()
	tenant, identity, _ := memberFixture(b, env)
	if _, err := env.Owner.ExecContext(ctx, correlatedMemberActor); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_, _ = env.Owner.ExecContext(context.Background(), "DROP FUNCTION IF EXISTS bench_member_actor_correlated(uuid, uuid)")
	})
	before, err := lookupActor(ctx, env.App, "bench_member_actor_correlated", tenant, identity)
	if err != nil {
		b.Fatal(err)
	}
	after, err := lookupActor(ctx, env.App, "clientele_member_actor", tenant, identity)
	if err != nil {
		b.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		b.Fatalf("the two forms disagree: %+v vs %+v", before, after)
	}
	for _, fn := range []struct{ name, sql string }{
		{"tenant on every table", "clientele_member_actor"},
		{"correlated (before)", "bench_member_actor_correlated"},
	} {
		b.Run(fn.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := lookupActor(ctx, env.App, fn.sql, tenant, identity); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
