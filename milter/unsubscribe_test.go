package milter

import (
	"log/slog"
	"net"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Messages of bulk classes without one-click unsubscribe are counted, and
// pass unchanged.
func TestUnsubscribeMissing(t *testing.T) {
	st := migratedChdb(t)
	rec := newRecorder(t, st, RecorderOptions{})
	cfg := testConfig()
	cfg.Classes[3].Bulk = true
	cfg.Rules = append(cfg.Rules, Rule{Name: "promo", Class: "marketing", Sender: []string{"*@promo.example"}})
	reg := prometheus.NewRegistry()
	f, err := New(cfg, rec, NewMetrics(reg), slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go f.Serve(ln)
	defer f.Shutdown(t.Context())
	addr := ln.Addr().String()
	tests := []struct {
		name    string
		from    string
		headers [][2]string
		counted bool
	}{
		{"one-click", "news@promo.example", [][2]string{{"List-Unsubscribe", "<https://promo.example/u/1>, <mailto:u@promo.example>"}, {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}}, false},
		{"mailto only", "news@promo.example", [][2]string{{"List-Unsubscribe", "<mailto:u@promo.example>"}, {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}}, true},
		{"no post header", "news@promo.example", [][2]string{{"List-Unsubscribe", "<https://promo.example/u/1>"}}, true},
		{"none at all", "news@promo.example", nil, true},
		{"transactional mail needs none", "app@corp.example", nil, false},
	}
	want := 0.0
	for i, tt := range tests {
		o := send(t, addr, testMessage{clientIP: "10.0.0.1", from: tt.from, to: []string{"x@gmail.test"}, queueID: "U" + string(rune('A'+i)), headers: tt.headers})
		if len(o.headers[HeaderID]) != 1 {
			t.Fatalf("%s: not stamped", tt.name)
		}
		if tt.counted {
			want++
		}
		if got := testutil.ToFloat64(f.metrics.UnsubscribeMissing.WithLabelValues("marketing", "")); got != want {
			t.Errorf("%s: counted %v, want %v", tt.name, got, want)
		}
	}
}
