package schema

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/mailtrace/mailtrace/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DefaultRetentionDays is how long rows are kept unless configured: ten
// years (3653 days). Colombian commercial records, e-mail among them, are
// kept ten years (Ley 962 de 2005, art. 28), longer than most periods for
// proving delivery of legal notices. A store keeps the retention it was
// created with until `mailtrace migrate --retention-days N
// --apply-retention` changes it.
const DefaultRetentionDays = 3653

// ttlLimit is the last second a table's TTL can name: the TTL is a
// DateTime (toDateTime(time) + INTERVAL N DAY), which ends in February 2106;
// past it, it wraps around to 1970 and every row is dropped at once.
var ttlLimit = time.Date(2106, 2, 7, 6, 28, 15, 0, time.UTC)

// MaxRetentionDays is the longest retention whose TTL still fits its type
// for a row written at now: a row's end of retention must not pass 2106.
func MaxRetentionDays(now time.Time) int {
	return int(ttlLimit.Sub(now).Hours() / 24)
}

// CheckRetention validates a retention in days against what the tables'
// TTL can hold.
func CheckRetention(days int) error {
	if days < 1 {
		return fmt.Errorf("%w: retention of %d days; give a positive number of days (%d = 10 years)", ErrRetention, days, DefaultRetentionDays)
	}
	if max := MaxRetentionDays(time.Now()); days > max {
		return fmt.Errorf("%w: retention of %d days would end after %s, past what the tables' TTL (a DateTime) can hold, "+
			"and every row would be dropped at once; give at most %d days (about %d years)",
			ErrRetention, days, ttlLimit.Format("2006-01-02"), max, max/365)
	}
	return nil
}

// ErrRetention is returned for a retention the store cannot keep.
var ErrRetention = errors.New("schema: bad retention")

// Options choose how migrations render.
type Options struct {
	Database      string // the database holding the tables
	RetentionDays int    // rows older than this are dropped (TTL); 0 = default
	// Cluster, when set, renders for a ClickHouse cluster of that name.
	Cluster string
}

// Migration is one versioned step, rendered into statements.
type Migration struct {
	Version    int
	Name       string
	Checksum   string // of the template, so that a retention change is not a change of schema
	Statements []string
	ttlTables  []ttlColumn
}

type ttlColumn struct{ table, column string }

// Migrations renders every embedded migration, oldest first.
func Migrations(opts Options) ([]Migration, error) {
	if opts.Database == "" {
		return nil, fmt.Errorf("schema: no database name")
	}
	opts.RetentionDays = opts.retentionDays()
	if err := CheckRetention(opts.RetentionDays); err != nil {
		return nil, err
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version < 1 {
			return nil, fmt.Errorf("schema: migration %s must be named NNNN_name.sql", base)
		}
		src, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(src)
		_, rest, _ := strings.Cut(strings.TrimSuffix(base, ".sql"), "_")
		m := Migration{Version: version, Name: rest, Checksum: hex.EncodeToString(sum[:8])}
		text, err := render(string(src), opts, &m)
		if err != nil {
			return nil, fmt.Errorf("schema: migration %s: %w", base, err)
		}
		m.Statements = store.SplitStatements(text)
		out = append(out, m)
	}
	return out, nil
}

// render expands a migration template.
func render(src string, opts Options, m *Migration) (string, error) {
	db := store.QuoteIdent(opts.Database)
	clustered := opts.Cluster != ""
	local := func(name string) string {
		if clustered {
			return name + "_local"
		}
		return name
	}
	funcs := template.FuncMap{
		"table": func(name string) string { return db + "." + store.QuoteIdent(local(name)) },
		"onCluster": func() string {
			if !clustered {
				return ""
			}
			return "ON CLUSTER " + store.QuoteIdent(opts.Cluster)
		},
		"engine": func(kind, table string, args ...string) string {
			if !clustered {
				return kind + "(" + strings.Join(args, ", ") + ")"
			}
			path := store.Quote("/clickhouse/tables/{shard}/" + opts.Database + "/" + local(table))
			return "Replicated" + kind + "(" + strings.Join(append([]string{path, "'{replica}'"}, args...), ", ") + ")"
		},
		"distributed": func(table string, shardKey ...string) string {
			if !clustered {
				return ""
			}
			key := "cityHash64(host, queue_id)"
			if len(shardKey) > 0 {
				key = shardKey[0]
			}
			return "CREATE TABLE IF NOT EXISTS " + db + "." + store.QuoteIdent(table) + " ON CLUSTER " + store.QuoteIdent(opts.Cluster) +
				" AS " + db + "." + store.QuoteIdent(local(table)) +
				" ENGINE = Distributed(" + store.QuoteIdent(opts.Cluster) + ", " + db + ", " + store.QuoteIdent(local(table)) + ", " + key + ")"
		},
		// alterDistributed alters a clustered table's Distributed table
		// as its local one was (the columns it routes must match).
		"alterDistributed": func(table, clause string) string {
			if !clustered {
				return ""
			}
			return "ALTER TABLE " + db + "." + store.QuoteIdent(table) + " ON CLUSTER " + store.QuoteIdent(opts.Cluster) + " " + clause
		},
		"ttl": func(table, column string) string {
			m.ttlTables = append(m.ttlTables, ttlColumn{table: local(table), column: column})
			return ttlClause(column, opts.RetentionDays)
		},
		"settings": func() string {
			// Retried inserts carry the same deduplication token; replicated
			// engines keep the window by default, plain ones need it asked.
			if clustered {
				return "SETTINGS ttl_only_drop_parts = 1"
			}
			return "SETTINGS non_replicated_deduplication_window = 1000, ttl_only_drop_parts = 1"
		},
	}
	t, err := template.New(m.Name).Option("missingkey=error").Funcs(funcs).Parse(src)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, opts); err != nil {
		return "", err
	}
	return b.String(), nil
}

func ttlClause(column string, days int) string {
	return "TTL toDateTime(" + store.QuoteIdent(column) + ") + INTERVAL " + strconv.Itoa(days) + " DAY"
}

// versionTable records which migrations a database has.
func versionTable(opts Options) string {
	name := "schema_migrations"
	engine := "ReplacingMergeTree"
	onCluster := ""
	if opts.Cluster != "" {
		onCluster = " ON CLUSTER " + store.QuoteIdent(opts.Cluster)
		engine = "ReplicatedReplacingMergeTree(" + store.Quote("/clickhouse/tables/{shard}/"+opts.Database+"/schema_migrations") + ", '{replica}')"
	}
	return "CREATE TABLE IF NOT EXISTS " + store.QuoteIdent(opts.Database) + "." + store.QuoteIdent(name) + onCluster +
		" (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC')) ENGINE = " + engine + " ORDER BY version"
}

// Render returns every statement a fresh database needs, in order, for
// printing (mailtrace migrate --print).
func Render(opts Options) ([]string, error) {
	ms, err := Migrations(opts)
	if err != nil {
		return nil, err
	}
	out := []string{versionTable(opts)}
	for _, m := range ms {
		out = append(out, m.Statements...)
	}
	return out, nil
}

// Applied is a migration a database already has.
type Applied struct {
	Version  int
	Name     string
	Checksum string
	At       time.Time
}

// Status reads which migrations the store has (none when it has no
// migrations table). It only reads: it creates nothing.
func Status(ctx context.Context, st store.Store, opts Options) ([]Applied, error) {
	found, err := store.HasTable(ctx, st, opts.Database, "schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("looking for the migrations table: %w", err)
	}
	if !found {
		return nil, nil
	}
	rows, err := st.Query(ctx, "SELECT version, any(name), any(checksum), min(applied_at) FROM "+
		store.QuoteIdent(opts.Database)+".schema_migrations GROUP BY version ORDER BY version", nil)
	if err != nil {
		return nil, fmt.Errorf("reading applied migrations: %w", err)
	}
	all, err := rows.All()
	if err != nil {
		return nil, fmt.Errorf("reading applied migrations: %w", err)
	}
	out := make([]Applied, 0, len(all))
	for _, r := range all {
		out = append(out, Applied{Version: int(r[0].(uint32)), Name: r[1].(string), Checksum: r[2].(string), At: r[3].(time.Time)})
	}
	return out, nil
}

// Migrate applies the migrations the store lacks, oldest first, and records
// each one. Every statement is idempotent (IF NOT EXISTS), so running it
// twice, or from two processes at once, leaves the same schema. With
// applyRetention it also sets every table's TTL to opts.RetentionDays,
// for databases created with another retention.
func Migrate(ctx context.Context, st store.Store, opts Options, applyRetention bool) ([]Migration, error) {
	ms, err := Migrations(opts)
	if err != nil {
		return nil, err
	}
	if err := st.Exec(ctx, versionTable(opts), nil); err != nil {
		return nil, fmt.Errorf("creating the migrations table: %w", err)
	}
	done, err := Status(ctx, st, opts)
	if err != nil {
		return nil, err
	}
	have := map[int]Applied{}
	for _, a := range done {
		have[a.Version] = a
	}
	var applied []Migration
	for _, m := range ms {
		if a, ok := have[m.Version]; ok {
			if a.Checksum != m.Checksum {
				return applied, fmt.Errorf("migration %d (%s) was applied with checksum %s but this binary has %s: "+
					"released migrations must not change; add a new migration instead", m.Version, m.Name, a.Checksum, m.Checksum)
			}
		} else {
			for i, stmt := range m.Statements {
				if err := st.Exec(ctx, stmt, nil); err != nil {
					return applied, fmt.Errorf("migration %d (%s), statement %d: %w\n%s", m.Version, m.Name, i+1, err, stmt)
				}
			}
			err := st.Exec(ctx, "INSERT INTO "+store.QuoteIdent(opts.Database)+
				".schema_migrations (version, name, checksum, applied_at) VALUES ({v:UInt32}, {n:String}, {c:String}, now64(3))",
				store.Params{"v": m.Version, "n": m.Name, "c": m.Checksum})
			if err != nil {
				return applied, fmt.Errorf("recording migration %d: %w", m.Version, err)
			}
			applied = append(applied, m)
		}
		if applyRetention {
			for _, t := range m.ttlTables {
				onCluster := ""
				if opts.Cluster != "" {
					onCluster = " ON CLUSTER " + store.QuoteIdent(opts.Cluster)
				}
				stmt := "ALTER TABLE " + store.QuoteIdent(opts.Database) + "." + store.QuoteIdent(t.table) + onCluster +
					" MODIFY " + ttlClause(t.column, opts.retentionDays())
				if err := st.Exec(ctx, stmt, nil); err != nil {
					return applied, fmt.Errorf("setting retention on %s: %w", t.table, err)
				}
			}
		}
	}
	return applied, nil
}

// retentionDays is the retention asked for, or the default.
func (o Options) retentionDays() int {
	if o.RetentionDays == 0 {
		return DefaultRetentionDays
	}
	return o.RetentionDays
}

// Retention reads the retention, in days, that the store's delivery_events
// table has: the one rows are actually dropped after, which may differ from
// the configured one (a store keeps the retention it was created with until
// `migrate --apply-retention`). It is 0 when the table has no TTL.
func Retention(ctx context.Context, st store.Store) (int, error) {
	rows, err := st.Query(ctx, "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() "+
		"AND name IN ('delivery_events_local', 'delivery_events') ORDER BY name DESC LIMIT 1", nil)
	if err != nil {
		return 0, fmt.Errorf("reading the store's retention: %w", err)
	}
	all, err := rows.All()
	if err != nil {
		return 0, fmt.Errorf("reading the store's retention: %w", err)
	}
	if len(all) == 0 {
		return 0, fmt.Errorf("reading the store's retention: no delivery_events table (has `mailtrace migrate` run?)")
	}
	q, _ := all[0][0].(string)
	_, after, ok := strings.Cut(q, "toIntervalDay(")
	if !ok {
		return 0, nil
	}
	days, err := strconv.Atoi(after[:strings.IndexByte(after+")", ')')])
	if err != nil {
		return 0, fmt.Errorf("reading the store's retention from %q: %w", q, err)
	}
	return days, nil
}
