package profiles

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Seed generates n realistic customers for a tenant fast: rows are copied into
// temporary staging tables (COPY is refused on RLS tables), then moved with
// INSERT ... SELECT inside the tenant's transaction, so RLS still checks every
// row. Names are Chinese and English, with emails, phones, tags and lifecycles.
// progress, when set, is called after every batch.
func Seed(ctx context.Context, conn *pgx.Conn, tenant uuid.UUID, n int, seed uint64, progress func(done int)) error {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	const batch = 50_000
	for done := 0; done < n; {
		size := min(batch, n-done)
		if err := seedBatch(ctx, conn, tenant, rng, done, size); err != nil {
			return fmt.Errorf("profiles: seed batch at %d: %w", done, err)
		}
		done += size
		if progress != nil {
			progress(done)
		}
	}
	return nil
}

var (
	surnames  = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	given     = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉飞波宁婷雪慧晶欣博文龙斌浩宇轩然梓涵子怡佳琪思雨诗晨阳")
	firsts    = []string{"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Susan", "Richard", "Jessica", "Joseph", "Sarah", "Thomas", "Karen", "Daniel", "Nancy", "Anna", "Lucas", "Emma", "Noah", "Olivia", "Liam", "Sophia", "Mia", "Ethan", "Ava"}
	lasts     = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez", "Lopez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell"}
	tagPool   = []string{"vip", "north", "south", "east", "west", "wholesale", "retail", "online", "partner", "newsletter", "trade-show", "referral"}
	stagePool = []string{"lead", "lead", "prospect", "customer", "customer", "customer", "at_risk", "churned"}
	domains   = []string{"example.com", "example.cn", "mail.example.org", "corp.example.net"}
)

func seedBatch(ctx context.Context, conn *pgx.Conn, tenant uuid.UUID, rng *rand.Rand, offset, size int) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // rolled back only on failure
	if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", tenant.String()); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE seed_customers (LIKE customers INCLUDING DEFAULTS) ON COMMIT DROP;
		CREATE TEMP TABLE seed_terms (term text COLLATE "C", customer_id uuid) ON COMMIT DROP;
		CREATE TEMP TABLE seed_tags (tag text, customer_id uuid) ON COMMIT DROP;
		CREATE TEMP TABLE seed_contacts (key text COLLATE "C", customer_id uuid) ON COMMIT DROP`); err != nil {
		return err
	}
	now := time.Now().UTC()
	customers := make([][]any, 0, size)
	var terms, tags, contacts [][]any
	for i := 0; i < size; i++ {
		k := offset + i
		c := &Customer{TenantID: tenant, ID: uuid.New(), Kind: "person", Lifecycle: stagePool[rng.IntN(len(stagePool))], Source: "seed"}
		var local string
		if rng.IntN(10) < 6 {
			c.Name = string(surnames[rng.IntN(len(surnames))]) + string(given[rng.IntN(len(given))])
			if rng.IntN(2) == 0 {
				c.Name += string(given[rng.IntN(len(given))])
			}
			local = fmt.Sprintf("user%d", k)
		} else {
			f, l := firsts[rng.IntN(len(firsts))], lasts[rng.IntN(len(lasts))]
			c.Name = f + " " + l
			local = fmt.Sprintf("%s.%s%d", strings.ToLower(f), strings.ToLower(l), k)
		}
		if rng.IntN(20) == 0 {
			c.Kind = "company"
			c.Name += " Trading Co. 贸易有限公司"
		}
		c.Emails = []string{local + "@" + domains[rng.IntN(len(domains))]}
		c.Phones = []string{fmt.Sprintf("+86 1%d%d %04d %04d", 3+rng.IntN(7), rng.IntN(10), rng.IntN(10000), k%10000)}
		nt := rng.IntN(4)
		for j := 0; j < nt; j++ {
			t := tagPool[rng.IntN(len(tagPool))]
			if !contains(c.Tags, t) {
				c.Tags = append(c.Tags, t)
			}
		}
		if c.Tags == nil {
			c.Tags = []string{}
		}
		created := now.Add(-time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
		customers = append(customers, []any{tenant, c.ID, c.Kind, c.Name, c.Emails, c.Phones, c.Tags, c.Lifecycle, c.Source, created, created})
		for _, t := range termsOf(c) {
			terms = append(terms, []any{t, c.ID})
		}
		for _, t := range c.Tags {
			tags = append(tags, []any{t, c.ID})
		}
		for _, key := range contactKeys(c) {
			contacts = append(contacts, []any{key, c.ID})
		}
	}
	cols := []string{"tenant_id", "id", "kind", "name", "emails", "phones", "tags", "lifecycle", "source", "created_at", "updated_at"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"seed_customers"}, cols, pgx.CopyFromRows(customers)); err != nil {
		return err
	}
	for _, s := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{"seed_terms", []string{"term", "customer_id"}, terms}, {"seed_tags", []string{"tag", "customer_id"}, tags}, {"seed_contacts", []string{"key", "customer_id"}, contacts}} {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.table}, s.cols, pgx.CopyFromRows(s.rows)); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO customers SELECT * FROM seed_customers;
		INSERT INTO customer_terms (tenant_id, term, customer_id) SELECT current_setting('app.tenant_id')::uuid, term, customer_id FROM seed_terms ON CONFLICT DO NOTHING;
		INSERT INTO customer_tags (tenant_id, tag, customer_id, created_at) SELECT current_setting('app.tenant_id')::uuid, st.tag, st.customer_id, sc.created_at FROM seed_tags st JOIN seed_customers sc ON sc.id = st.customer_id ON CONFLICT DO NOTHING;
		INSERT INTO customer_contacts (tenant_id, key, customer_id) SELECT current_setting('app.tenant_id')::uuid, key, customer_id FROM seed_contacts ON CONFLICT DO NOTHING;
		INSERT INTO customer_lifecycle_history (tenant_id, customer_id, to_stage, changed_at) SELECT tenant_id, id, lifecycle, created_at FROM seed_customers`); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
