package profiles

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/fields"
)

// Seed generates n realistic customers for a tenant fast: rows are copied into
// temporary staging tables (COPY is refused on RLS tables), then moved with
// INSERT ... SELECT inside the tenant's transaction, so RLS still checks every
// row. Names are Chinese and English, with emails, phones, tags, lifecycles,
// values for the tenant's custom fields (indexed like any write) and a short
// timeline of interactions, purchases included. progress, when set, is called
// after every batch.
func Seed(ctx context.Context, conn *pgx.Conn, tenant uuid.UUID, n int, seed uint64, progress func(done int)) error {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	const batch = 50_000
	for done := 0; done < n; {
		size := min(batch, n-done)
		if err := seedBatch(ctx, conn, tenant, rng, done, size, "seed"); err != nil {
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

func seedBatch(ctx context.Context, conn *pgx.Conn, tenant uuid.UUID, rng *rand.Rand, offset, size int, source string) error {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{BeginQuery: db.BeginTenantSQL(tenant)})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // rolled back only on failure
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE seed_customers (LIKE customers INCLUDING DEFAULTS) ON COMMIT DROP;
		CREATE TEMP TABLE seed_terms (term text COLLATE "C", customer_id uuid) ON COMMIT DROP;
		CREATE TEMP TABLE seed_tags (tag text, customer_id uuid) ON COMMIT DROP;
		CREATE TEMP TABLE seed_contacts (key text COLLATE "C", customer_id uuid) ON COMMIT DROP;
		CREATE TEMP TABLE seed_index (field_key text, record_id uuid, ord int, v_text text COLLATE "C", v_num numeric, v_time timestamptz, v_bool boolean) ON COMMIT DROP;
		CREATE TEMP TABLE seed_interactions (id uuid, occurred_at timestamptz, customer_id uuid, kind text, channel text, summary text, amount numeric, currency text) ON COMMIT DROP`); err != nil {
		return err
	}
	defs, err := seedDefinitions(ctx, tx, tenant)
	if err != nil {
		return err
	}
	// Purchases are in the company's currency, which revenue sums.
	var currency string
	if err := tx.QueryRow(ctx, "SELECT trim(currency) FROM tenants WHERE id = $1", tenant).Scan(&currency); err != nil {
		return err
	}
	now := time.Now().UTC()
	customers := make([][]any, 0, size)
	var terms, tags, contacts, index, interactions [][]any
	for i := 0; i < size; i++ {
		k := offset + i
		c := &Customer{TenantID: tenant, ID: uuid.New(), Kind: "person", Lifecycle: stagePool[rng.IntN(len(stagePool))], Source: source}
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
		custom := map[string]any{}
		for _, d := range defs {
			if rng.IntN(10) == 0 {
				continue // some gaps, as real data has
			}
			stored, iv, err := d.Normalize(seedValue(rng, d, k))
			if err != nil || stored == nil {
				continue
			}
			custom[d.Key] = stored
			if d.Filterable || d.Sortable {
				for ord, e := range iv.Entries {
					index = append(index, []any{d.Key, c.ID, ord, e.Text, e.Num, e.Time, e.Bool})
				}
			}
		}
		customers = append(customers, []any{tenant, c.ID, c.Kind, c.Name, c.Emails, c.Phones, c.Tags, c.Lifecycle, c.Source, custom, created, created})
		for j, ni := 0, rng.IntN(4); j < ni; j++ {
			at := created.Add(time.Duration(rng.Int64N(int64(now.Sub(created)) + 1)))
			kind := interactionKinds[rng.IntN(len(interactionKinds))]
			row := []any{uuid.New(), at, c.ID, kind, seedChannels[kind], seedSummaries[kind][rng.IntN(len(seedSummaries[kind]))], nil, nil}
			if kind == "purchase" {
				row[6], row[7] = fmt.Sprintf("%d.%02d", 50+rng.IntN(20000), rng.IntN(100)), currency
			}
			interactions = append(interactions, row)
		}
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
	cols := []string{"tenant_id", "id", "kind", "name", "emails", "phones", "tags", "lifecycle", "source", "custom", "created_at", "updated_at"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"seed_customers"}, cols, pgx.CopyFromRows(customers)); err != nil {
		return err
	}
	for _, s := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{"seed_terms", []string{"term", "customer_id"}, terms}, {"seed_tags", []string{"tag", "customer_id"}, tags}, {"seed_contacts", []string{"key", "customer_id"}, contacts},
		{"seed_index", []string{"field_key", "record_id", "ord", "v_text", "v_num", "v_time", "v_bool"}, index},
		{"seed_interactions", []string{"id", "occurred_at", "customer_id", "kind", "channel", "summary", "amount", "currency"}, interactions}} {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.table}, s.cols, pgx.CopyFromRows(s.rows)); err != nil {
			return err
		}
	}
	// On Citus each INSERT ... SELECT from a staging table takes RETURNING, so that
	// Citus moves the rows as INSERTs rather than COPY, which RLS refuses (see
	// db.ExecStaged).
	var citus bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')").Scan(&citus); err != nil {
		return err
	}
	for _, q := range seedInserts {
		if citus {
			q += " RETURNING NULL"
		}
		if _, err := tx.Exec(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// seedInserts move a seeded batch from the staging tables into the tenant's tables.
var seedInserts = []string{
	`INSERT INTO customers SELECT * FROM seed_customers`,
	`INSERT INTO customer_terms (tenant_id, term, customer_id, created_at) SELECT current_setting('app.tenant_id')::uuid, st.term, st.customer_id, sc.created_at FROM seed_terms st JOIN seed_customers sc ON sc.id = st.customer_id ON CONFLICT DO NOTHING`,
	`INSERT INTO customer_tags (tenant_id, tag, customer_id, created_at) SELECT current_setting('app.tenant_id')::uuid, st.tag, st.customer_id, sc.created_at FROM seed_tags st JOIN seed_customers sc ON sc.id = st.customer_id ON CONFLICT DO NOTHING`,
	`INSERT INTO customer_contacts (tenant_id, key, customer_id) SELECT current_setting('app.tenant_id')::uuid, key, customer_id FROM seed_contacts ON CONFLICT DO NOTHING`,
	`INSERT INTO customer_lifecycle_history (tenant_id, customer_id, to_stage, changed_at) SELECT tenant_id, id, lifecycle, created_at FROM seed_customers`,
	`INSERT INTO field_index (tenant_id, entity, field_key, record_id, ord, v_text, v_num, v_time, v_bool)
		SELECT current_setting('app.tenant_id')::uuid, 'customers', field_key, record_id, ord, v_text, v_num, v_time, v_bool FROM seed_index`,
	`INSERT INTO interactions (tenant_id, id, occurred_at, customer_id, kind, channel, summary, amount, currency)
		SELECT current_setting('app.tenant_id')::uuid, id, occurred_at, customer_id, kind, channel, summary, amount, currency FROM seed_interactions`,
}

var (
	interactionKinds = []string{"call", "email", "meeting", "visit", "note", "social", "purchase", "purchase", "feedback"}
	seedChannels     = map[string]string{"call": "phone", "email": "email", "meeting": "office", "visit": "on site", "note": "", "social": "wechat", "purchase": "shop", "feedback": "survey"}
	seedSummaries    = map[string][]string{
		"call":     {"Follow-up call", "回访电话", "Asked about delivery times"},
		"email":    {"Sent the price list", "发送报价单", "Answered a question about invoices"},
		"meeting":  {"Quarterly review", "季度回顾会议", "Demo of the new range"},
		"visit":    {"Visited the store", "上门拜访", "Site survey"},
		"note":     {"Prefers WeChat", "偏好微信联系", "Budget approved for next year"},
		"social":   {"Replied on WeChat", "微信留言回复", "Liked our post"},
		"purchase": {"Order", "购买", "Repeat order"},
		"feedback": {"Happy with the service", "对服务满意", "Delivery was late"},
	}
	seedWords = []string{"alpha", "beta", "gamma", "华东", "华南", "北京", "上海", "深圳", "retail", "wholesale"}
)

// seedDefinitions reads the tenant's live, non-sensitive, non-unique custom
// fields of customers; seeded customers get values for them.
func seedDefinitions(ctx context.Context, tx pgx.Tx, tenant uuid.UUID) ([]fields.Definition, error) {
	rows, err := tx.Query(ctx, `SELECT key, type, options, filterable, sortable FROM field_definitions
		WHERE tenant_id = $1 AND entity = 'customers' AND archived_at IS NULL AND NOT sensitive AND NOT "unique" AND pending_job IS NULL ORDER BY position, key`, tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var defs []fields.Definition
	for rows.Next() {
		d := fields.Definition{Entity: EntityCustomers}
		var typ string
		var opts []byte
		if err := rows.Scan(&d.Key, &typ, &opts, &d.Filterable, &d.Sortable); err != nil {
			return nil, err
		}
		d.Type = fields.Type(typ)
		var o struct {
			Choices []fields.Option `json:"choices"`
			Max     int             `json:"max"`
		}
		_ = json.Unmarshal(opts, &o)
		d.Options, d.Max = o.Choices, o.Max
		defs = append(defs, d)
	}
	return defs, rows.Err()
}

// seedValue is a plausible value of d's type, as a client would send it.
func seedValue(rng *rand.Rand, d fields.Definition, k int) any {
	switch d.Type {
	case fields.Select:
		if len(d.Options) == 0 {
			return nil
		}
		return d.Options[rng.IntN(len(d.Options))].Value
	case fields.MultiSelect:
		var out []any
		for _, o := range d.Options {
			if rng.IntN(3) == 0 {
				out = append(out, o.Value)
			}
		}
		return out
	case fields.Number:
		return float64(rng.IntN(5000))
	case fields.Decimal:
		return fmt.Sprintf("%d.%02d", rng.IntN(100000), rng.IntN(100))
	case fields.Currency:
		return map[string]any{"amount": fmt.Sprintf("%d.00", 100+rng.IntN(1000000)), "currency": "CNY"}
	case fields.Date:
		return time.Now().AddDate(0, 0, -rng.IntN(1500)).Format("2006-01-02")
	case fields.DateTime:
		return time.Now().Add(-time.Duration(rng.Int64N(int64(1500 * 24 * time.Hour)))).UTC().Format(time.RFC3339)
	case fields.Boolean:
		return rng.IntN(2) == 0
	case fields.Rating:
		return float64(1 + rng.IntN(d.RatingMax()))
	case fields.Email:
		return fmt.Sprintf("contact%d@example.net", k)
	case fields.Phone:
		return fmt.Sprintf("+86 21 %04d %04d", rng.IntN(10000), k%10000)
	case fields.URL:
		return fmt.Sprintf("https://www.example.com/c/%d", k)
	case fields.Text, fields.LongText:
		return seedWords[rng.IntN(len(seedWords))] + " " + seedWords[rng.IntN(len(seedWords))]
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
