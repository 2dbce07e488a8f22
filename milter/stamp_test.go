package milter

import (
	"log/slog"
	"reflect"
	"testing"

	"github.com/mailtrace/mailtrace/traceid"
)

// TestStamp decides stamps without Postfix or a socket: each case is the
// envelope and headers a session gathered, and the changes it must make.
func TestStamp(t *testing.T) {
	cfg := testConfig()
	cfg.Classes = append(cfg.Classes,
		Class{Name: "notices", VERP: true},
		Class{Name: "certified", Pool: "legal", VERP: true, ReadReceipt: true})
	f, err := New(cfg, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	keep := cfg
	keep.KeepClientEnvID = true
	fKeep, err := New(keep, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// Config refuses VERP classes without the verp section; the stamp
	// does not rely on it.
	fNoSigner := *f
	fNoSigner.signer = nil
	id, _ := traceid.Parse("0190c7a2-9b1d-7abc-8abc-0123456789ab")
	verpLegal := f.signer.PoolAddress(id, "legal")
	stampHeaders := func(class, pool string) []field {
		h := []field{{HeaderID, id.String()}, {HeaderClass, class}}
		if pool != "" {
			h = append(h, field{HeaderPool, pool})
		}
		return h
	}
	tests := []struct {
		name string
		f    *Filter
		s    session // the session's message data; f is set from the case
		want stamp
	}{
		{name: "VERP class with a pool: sender becomes the pool's return path",
			s: session{sender: "clerk@court.example", recipients: []string{"a@gmail.test"}, class: f.classifier.classes["legal"]},
			want: stamp{ChangeFrom: true, Sender: verpLegal, FromArgs: "ENVID=" + id.String() + " RET=HDRS", Pool: "legal",
				Add: stampHeaders("legal", "legal")}},
		{name: "VERP class without a pool: plain return path, no pool header",
			s: session{sender: "app@corp.example", recipients: []string{"a@gmail.test"}, class: f.classifier.classes["notices"]},
			want: stamp{ChangeFrom: true, Sender: f.signer.Address(id), FromArgs: "ENVID=" + id.String() + " RET=HDRS",
				Add: stampHeaders("notices", "")}},
		{name: "class without VERP: sender and routing kept, whatever pool it names",
			s: session{sender: "billing@corp.example", ret: "FULL", recipients: []string{"b@outlook.test"}, class: f.classifier.classes["collections"]},
			want: stamp{ChangeFrom: true, Sender: "billing@corp.example", FromArgs: "ENVID=" + id.String() + " RET=FULL",
				Add: stampHeaders("collections", "")}},
		{name: "RET other than FULL becomes HDRS; the client's ENVID is replaced",
			s: session{sender: "app@corp.example", envID: "app-123", ret: "BOGUS", recipients: []string{"b@outlook.test"}, class: f.classifier.classes["transactional"]},
			want: stamp{ChangeFrom: true, Sender: "app@corp.example", FromArgs: "ENVID=" + id.String() + " RET=HDRS",
				Add: stampHeaders("transactional", "")}},
		{name: "keep_client_envid keeps the client's ENVID", f: fKeep,
			s: session{sender: "app@corp.example", envID: "app-123", recipients: []string{"b@outlook.test"}, class: fKeep.classifier.classes["transactional"]},
			want: stamp{ChangeFrom: true, Sender: "app@corp.example", FromArgs: "ENVID=app-123 RET=HDRS",
				Add: stampHeaders("transactional", "")}},
		{name: "null sender: envelope untouched even in a VERP class, message stamped",
			s:    session{sender: "", recipients: []string{"a@gmail.test"}, class: f.classifier.classes["legal"]},
			want: stamp{Add: stampHeaders("legal", "")}},
		{name: "the client's X-Mailtrace headers are removed, last first",
			s: session{sender: "app@corp.example", recipients: []string{"a@gmail.test"}, class: f.classifier.classes["transactional"],
				ownHeaders: map[string]int{"x-mailtrace-id": 1, "x-mailtrace-pool": 2, "x-mailtrace-class": 1}},
			want: stamp{Remove: []headerAt{{HeaderID, 1}, {HeaderPool, 2}, {HeaderPool, 1}, {HeaderClass, 1}},
				ChangeFrom: true, Sender: "app@corp.example", FromArgs: "ENVID=" + id.String() + " RET=HDRS",
				Add: stampHeaders("transactional", "")}},
		{name: "report to the bounce domain: unstamped, its pool header removed",
			s: session{sender: "", recipients: []string{"mt-x@BOUNCES.example.com", "mt-y@bounces.example.com"}, class: f.classifier.classes["transactional"],
				ownHeaders: map[string]int{"x-mailtrace-pool": 1}},
			want: stamp{Remove: []headerAt{{HeaderPool, 1}}, Unstamped: true}},
		{name: "mail to the bounce domain and elsewhere is ordinary mail",
			s: session{sender: "a@corp.example", recipients: []string{"mt-x@bounces.example.com", "x@gmail.test"}, class: f.classifier.classes["transactional"]},
			want: stamp{ChangeFrom: true, Sender: "a@corp.example", FromArgs: "ENVID=" + id.String() + " RET=HDRS",
				Add: stampHeaders("transactional", "")}},
		{name: "read_receipt class asks for receipts at the return path",
			s: session{sender: "clerk@court.example", recipients: []string{"a@gmail.test"}, class: f.classifier.classes["certified"]},
			want: stamp{ReadReceipt: "<" + verpLegal + ">", ChangeFrom: true, Sender: verpLegal, FromArgs: "ENVID=" + id.String() + " RET=HDRS",
				Pool: "legal", Add: stampHeaders("certified", "legal")}},
		{name: "read_receipt class, message asks itself: its request kept",
			s: session{sender: "clerk@court.example", recipients: []string{"a@gmail.test"}, class: f.classifier.classes["certified"],
				headers: map[string][]string{"disposition-notification-to": {"<clerk@court.example>"}}},
			want: stamp{OwnReadReceipt: true, ChangeFrom: true, Sender: verpLegal, FromArgs: "ENVID=" + id.String() + " RET=HDRS",
				Pool: "legal", Add: stampHeaders("certified", "legal")}},
		{name: "no signer: VERP class leaves as Postfix routes it, nothing is the bounce domain", f: &fNoSigner,
			s: session{sender: "clerk@court.example", recipients: []string{"mt-x@bounces.example.com"}, class: f.classifier.classes["legal"]},
			want: stamp{ChangeFrom: true, Sender: "clerk@court.example", FromArgs: "ENVID=" + id.String() + " RET=HDRS",
				Add: stampHeaders("legal", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			if s.f = tt.f; s.f == nil {
				s.f = f
			}
			if got := s.stamp(id); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("stamp:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
