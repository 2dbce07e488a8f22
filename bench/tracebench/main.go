// Command tracebench measures trace lookups and searches at scale: it fills
// an embedded store with generated messages (accept records, the log's
// message records and delivery attempts, through the store's writer, so the
// lookup views fill as in production), then asks mailtrace's API, over
// HTTP on loopback, for traces by every kind of identifier and for first
// pages of searches, and prints p50/p99 per kind.
//
//	go run ./bench/tracebench -messages 5000000 -store /var/tmp/tracebench
//
// A store already filled with as many messages is reused.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/mailtrace/mailtrace/api"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/traceid"
	"github.com/mailtrace/mailtrace/verp"
)

var (
	start    = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	span     = 30 * 24 * time.Hour
	senders  = []string{"clerk@court.example", "notices@tax.example", "agent@dunning.example", "billing@bank.example", "news@shop.example", "noreply@insurer.example"}
	classes  = []string{"legal", "legal", "collections", "transactional", "marketing", "transactional"}
	pools    = map[string]string{"legal": "legal", "collections": "collections", "transactional": "transactional", "marketing": "bulk"}
	poolIPs  = map[string]string{"legal": "203.0.113.10", "collections": "203.0.113.11", "transactional": "203.0.113.12", "bulk": "203.0.113.20"}
	subjects = []string{"Summons", "Tax assessment", "Payment reminder", "Account statement", "Newsletter", "Policy renewal"}
	domains  = []string{"gmail.com", "outlook.com", "yahoo.com", "web.de", "gmx.de", "t-online.de", "icloud.com"}
	provider = map[string]string{"gmail.com": "google", "outlook.com": "microsoft", "yahoo.com": "yahoo", "icloud.com": "apple"}
	// The legal and collections classes send with a signed VERP return
	// path: the log's from= is then mt-TOKEN@bounces.example, not the
	// application's sender.
	verpClasses = map[string]bool{"legal": true, "collections": true}
	signer, _   = verp.New("mt", "bounces.example", []verp.Key{{ID: 1, Secret: []byte("tracebench-secret-0123456789")}})
)

// message is generated message i, the same every time.
type message struct {
	time       time.Time
	trace      traceid.ID
	host, qid  string
	messageID  string
	sender     string // the application's (accept record)
	envelope   string // the log's from=: the VERP address for VERP classes
	class      string
	recipients []string
}

func gen(i, n int) message {
	r := rand.New(rand.NewPCG(42, uint64(i)))
	t := start.Add(time.Duration(float64(span) * float64(i) / float64(n))).Add(time.Duration(r.IntN(1000)) * time.Millisecond)
	var id traceid.ID
	ms := uint64(t.UnixMilli())
	for b := 0; b < 6; b++ {
		id[b] = byte(ms >> (40 - 8*b))
	}
	id[6], id[7], id[8] = 0x70|byte(i>>56&0x0f), byte(i>>48), 0x80
	for b := 9; b < 16; b++ {
		id[b] = byte(i >> (8 * (15 - b)))
	}
	s := r.IntN(len(senders))
	m := message{time: t, trace: id, host: fmt.Sprintf("mx%d", 1+i%2), qid: fmt.Sprintf("%011X", 0x10000000000+uint64(i)*7919),
		sender: senders[s], class: classes[s]}
	m.envelope = m.sender
	if verpClasses[m.class] {
		m.envelope = signer.Address(m.trace)
	}
	m.messageID = fmt.Sprintf("<%d.%x@%s>", i, r.Uint32(), m.sender[len("clerk@"):])
	for range 1 + r.IntN(4) {
		m.recipients = append(m.recipients, fmt.Sprintf("user%d@%s", r.IntN(2_000_000), domains[r.IntN(len(domains))]))
	}
	return m
}

func main() {
	n := flag.Int("messages", 5_000_000, "messages to generate")
	dir := flag.String("store", "/var/tmp/mailtrace-tracebench", "embedded store directory")
	lib := flag.String("chdb-library", os.Getenv("MAILTRACE_CHDB_LIBRARY"), "libchdb.so")
	lookups := flag.Int("lookups", 200, "lookups per kind")
	traces := flag.Bool("traces", true, "measure trace lookups (false: searches only)")
	flag.Parse()
	ctx := context.Background()
	st, err := store.Open(ctx, "chdb://"+*dir, store.Options{ChdbLibrary: *lib})
	if err != nil {
		fail(err)
	}
	defer st.Close()
	if _, err := schema.Migrate(ctx, st, schema.Options{Database: st.Database()}, false); err != nil {
		fail(err)
	}
	have := count(st, "SELECT count() FROM accept_records")
	if have < uint64(*n) {
		if have > 0 {
			fail(fmt.Errorf("%s holds %d messages, not %d: remove it first", *dir, have, *n))
		}
		load(ctx, st, *n)
	}
	fmt.Printf("store: %d messages, %d delivery events, %d lookup rows\n", count(st, "SELECT count() FROM accept_records"),
		count(st, "SELECT count() FROM delivery_events"), count(st, "SELECT count() FROM id_lookup"))

	srv, err := api.New(st, api.DefaultConfig(), nil, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	go http.Serve(ln, srv.Handler())
	base := "http://" + ln.Addr().String()
	r := rand.New(rand.NewPCG(7, 7))
	kinds := []struct {
		name string
		path func(m message) string
	}{
		{"trace ID", func(m message) string { return "/api/v1/trace/" + m.trace.String() }},
		{"Message-ID", func(m message) string { return "/api/v1/trace/" + url.PathEscape(m.messageID) }},
		{"queue ID", func(m message) string { return "/api/v1/trace/" + m.qid }},
		{"recipient, 1 day", func(m message) string {
			return "/api/v1/trace/" + url.PathEscape(m.recipients[0]) + "?from=" + m.time.Add(-12*time.Hour).Format(time.RFC3339) + "&to=" + m.time.Add(12*time.Hour).Format(time.RFC3339)
		}},
	}
	for _, k := range kinds {
		if !*traces {
			break
		}
		var lat []time.Duration
		for range *lookups {
			m := gen(r.IntN(*n), *n)
			lat = append(lat, get(base+k.path(m), true))
		}
		report("trace by "+k.name, lat, 50*time.Millisecond)
	}
	searches := []struct{ name, q string }{
		{"all, 1 day", ""}, {"status=bounced, 1 day", "&status=bounced"}, {"recipient domain, 1 day", "&recipient=%40outlook.com"},
		{"pool+provider, 1 day", "&pool=bulk&provider=microsoft"}, {"class=legal, 1 day", "&class=legal"}, {"dsn=5.1, 7 days", "&dsn=5.1"},
		{"sender=@court.example (VERP), 1 day", "&sender=%40court.example"}, {"sender=news@shop.example, 1 day", "&sender=news%40shop.example"},
		{"subject=reminder, 1 day", "&subject=reminder"},
	}
	for _, s := range searches {
		var lat []time.Duration
		for range *lookups / 4 {
			day := start.Add(time.Duration(r.IntN(29*24)) * time.Hour)
			to := day.Add(24 * time.Hour)
			if s.name == "dsn=5.1, 7 days" {
				to = day.Add(7 * 24 * time.Hour)
			}
			lat = append(lat, get(base+"/api/v1/search?from="+day.Format(time.RFC3339)+"&to="+to.Format(time.RFC3339)+s.q, false))
		}
		report("search first page, "+s.name, lat, 200*time.Millisecond)
	}
}

func get(u string, want200 bool) time.Duration {
	t0 := time.Now()
	res, err := http.Get(u)
	if err != nil {
		fail(err)
	}
	var buf [32 << 10]byte
	for {
		if _, err := res.Body.Read(buf[:]); err != nil {
			break
		}
	}
	res.Body.Close()
	d := time.Since(t0)
	if res.StatusCode != 200 && (want200 || res.StatusCode != 404) {
		fail(fmt.Errorf("GET %s: %s", u, res.Status))
	}
	return d
}

func report(name string, lat []time.Duration, goal time.Duration) {
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	verdict := "meets"
	if p(0.99) > goal {
		verdict = "MISSES"
	}
	fmt.Printf("%-40s n=%d  p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms  (%s the %v goal)\n", name, len(lat),
		ms(p(0.5)), ms(p(0.99)), ms(lat[len(lat)-1]), verdict, goal)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func count(st store.Store, q string) uint64 {
	rows, err := st.Query(context.Background(), q, nil)
	if err != nil {
		fail(err)
	}
	var n uint64
	for rows.Next() {
		rows.Scan(&n)
	}
	return n
}

// load writes every table through the store's writer, as mailtrace does.
func load(ctx context.Context, st store.Store, n int) {
	t0 := time.Now()
	wo := store.WriterOptions{MaxRows: 200_000, MaxBytes: 64 << 20, MaxDelay: time.Minute}
	accepts, msgs, events := store.NewWriter(st, schema.AcceptRecords, wo), store.NewWriter(st, schema.Messages, wo), store.NewWriter(st, schema.DeliveryEvents, wo)
	var nEvents int
	var mu sync.Mutex
	for i := range n {
		m := gen(i, n)
		pool := pools[m.class]
		accepts.Write(ctx, &schema.AcceptRecord{Time: m.time, TraceID: m.trace, Host: m.host, QueueID: m.qid, MessageID: m.messageID,
			Sender: m.sender, Recipients: m.recipients, ClientIP: "10.0.0.5", ClientName: "app.example", Helo: "app", Class: m.class, Pool: pool,
			Subject: subjects[i%len(subjects)] + " " + m.qid})
		r := rand.New(rand.NewPCG(43, uint64(i)))
		statuses := make([]string, len(m.recipients))
		last := m.time
		for j, rcpt := range m.recipients {
			dom := rcpt[len("user")+1:]
			for k := range rcpt {
				if rcpt[k] == '@' {
					dom = rcpt[k+1:]
				}
			}
			var seq []schema.DeliveryStatus
			switch x := r.IntN(10); {
			case x < 5:
				seq = []schema.DeliveryStatus{schema.StatusSent}
			case x < 8:
				seq = []schema.DeliveryStatus{schema.StatusDeferred, schema.StatusDeferred, schema.StatusSent}
			case x < 9:
				seq = []schema.DeliveryStatus{schema.StatusBounced}
			default:
				seq = []schema.DeliveryStatus{schema.StatusDeferred, schema.StatusExpired}
			}
			for a, status := range seq {
				at := m.time.Add(time.Duration(1+a*600) * time.Second)
				if at.After(last) {
					last = at
				}
				dsn, resp := "2.0.0", "250 2.0.0 OK "+m.qid
				switch status {
				case schema.StatusDeferred, schema.StatusExpired:
					dsn, resp = "4.7.28", "421 4.7.28 rate limited, try again later"
				case schema.StatusBounced:
					dsn, resp = "5.1.1", "550 5.1.1 <"+rcpt+">: user unknown"
				}
				events.Write(ctx, &schema.DeliveryEvent{Time: at, EventID: uint64(i)<<8 | uint64(j)<<4 | uint64(a), Host: m.host, QueueID: m.qid,
					TraceID: m.trace, MessageID: m.messageID, Sender: m.envelope, Recipient: rcpt, Status: status, DSN: dsn,
					Service: "postfix-" + pool + "/smtp", RelayHost: "mx." + dom, RelayIP: "192.0.2.1", RelayPort: 25, Response: resp,
					Pool: pool, SourceIP: poolIPs[pool], Provider: provider[dom], Delay: 1.5})
				mu.Lock()
				nEvents++
				mu.Unlock()
				statuses[j] = string(status)
			}
		}
		msgs.Write(ctx, &schema.MessageRecord{FirstSeen: m.time, LastSeen: last, Host: m.host, QueueID: m.qid, TraceID: m.trace,
			MessageID: m.messageID, Sender: m.envelope, Size: 4096, Nrcpt: uint32(len(m.recipients)), Origin: "smtpd", Pool: pool,
			Recipients: m.recipients, Statuses: statuses, State: "removed"})
		if (i+1)%500_000 == 0 {
			fmt.Printf("load: %d messages, %d events, %.0f s\n", i+1, nEvents, time.Since(t0).Seconds())
		}
	}
	for _, w := range []*store.Writer{accepts, msgs, events} {
		if err := w.Close(ctx); err != nil {
			fail(err)
		}
	}
	fmt.Printf("load: %d messages, %d events in %.0f s (%.0f events/s)\n", n, nEvents, time.Since(t0).Seconds(), float64(nEvents)/time.Since(t0).Seconds())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tracebench:", err)
	os.Exit(1)
}
