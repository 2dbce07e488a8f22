package milter

import (
	"strings"

	gomilter "github.com/d--j/go-milter"

	"github.com/mailtrace/mailtrace/traceid"
)

// A stamp is what the milter changes in a message at its end, decided from
// what the session gathered and nothing else: no Postfix, no socket.
// EndOfMessage applies it through go-milter.
type stamp struct {
	// Remove are the X-Mailtrace-* headers the message came with, last
	// first: they would contradict the stamp.
	Remove []headerAt
	// Unstamped is a message to the VERP bounce domain, a report on its
	// way to the bounce intake: it is not mail we send, so only Remove
	// applies (no stamp, no record).
	Unstamped bool
	// ReadReceipt is the Disposition-Notification-To value to add, ""
	// for none.
	ReadReceipt string
	// OwnReadReceipt tells that the class asks for read receipts but the
	// message asks for them itself: its request is kept.
	OwnReadReceipt bool
	// ChangeFrom tells that the envelope sender is replaced by Sender with
	// FromArgs. Null-sender mail (bounces, auto-replies) gets no DSN (RFC
	// 3461 section 5.2.1), so its envelope is left alone.
	ChangeFrom bool
	// Sender is the envelope sender the message leaves with: its VERP
	// return path, or the client's sender.
	Sender   string
	FromArgs string // ENVID and RET
	// Pool is the pool named in the VERP return path, "" for none.
	Pool string
	// Add are the headers added, in order.
	Add []field
}

// headerAt is one header among those of its name, counted from 1.
type headerAt struct {
	Name  string
	Index int
}

type field struct{ Name, Value string }

// stamp decides the message's stamp for trace ID id.
func (s *session) stamp(id traceid.ID) stamp {
	var st stamp
	for _, name := range []string{HeaderID, HeaderPool, HeaderClass} {
		for i := s.ownHeaders[strings.ToLower(name)]; i >= 1; i-- {
			st.Remove = append(st.Remove, headerAt{name, i})
		}
	}
	if s.toBounceDomain() {
		st.Unstamped = true
		return st
	}
	// The pool is named in the VERP return path, which is what routes the
	// message: without VERP (no signer, or the null sender, which is
	// kept) it leaves as Postfix routes it, through no pool.
	st.Sender = s.sender
	if s.class.VERP && s.f.signer != nil && s.sender != "" {
		if st.Pool = s.class.RoutedPool(); st.Pool != "" {
			st.Sender = s.f.signer.PoolAddress(id, st.Pool)
		} else {
			st.Sender = s.f.signer.Address(id)
		}
		// The receipt goes to the VERP return path, unless the message
		// asks for receipts itself: its sender's wish is kept, and a
		// second such header would make the request invalid (RFC 8098
		// section 2.1).
		if s.class.ReadReceipt {
			if len(s.headers["disposition-notification-to"]) > 0 {
				st.OwnReadReceipt = true
			} else {
				st.ReadReceipt = "<" + st.Sender + ">"
			}
		}
	}
	if s.sender != "" {
		envID := id.String()
		if s.f.cfg.KeepClientEnvID && s.envID != "" {
			envID = s.envID
		}
		ret := s.ret
		if ret != "FULL" {
			ret = "HDRS"
		}
		st.ChangeFrom, st.FromArgs = true, "ENVID="+envID+" RET="+ret
	}
	// Room for the pool header: one allocation per message.
	st.Add = append(make([]field, 0, 3), field{HeaderID, id.String()}, field{HeaderClass, s.class.Name})
	if st.Pool != "" {
		st.Add = append(st.Add, field{HeaderPool, st.Pool})
	}
	return st
}

// apply makes the stamp's changes through m.
func (st *stamp) apply(m gomilter.Modifier) error {
	for _, h := range st.Remove {
		if err := m.ChangeHeader(h.Index, h.Name, ""); err != nil {
			return err
		}
	}
	if st.Unstamped {
		return nil
	}
	if st.ReadReceipt != "" {
		if err := m.AddHeader(HeaderReadReceipt, st.ReadReceipt); err != nil {
			return err
		}
	}
	if st.ChangeFrom {
		if err := m.ChangeFrom(gomilter.AddAngle(st.Sender), st.FromArgs); err != nil {
			return err
		}
	}
	for _, h := range st.Add {
		if err := m.AddHeader(h.Name, h.Value); err != nil {
			return err
		}
	}
	return nil
}

// toBounceDomain tells a message whose every recipient is in the VERP
// bounce domain: a report on its way to mailtrace's bounce intake.
func (s *session) toBounceDomain() bool {
	if s.f.signer == nil || len(s.recipients) == 0 {
		return false
	}
	for _, r := range s.recipients {
		at := strings.LastIndexByte(r, '@')
		if at < 0 || !strings.EqualFold(r[at+1:], s.f.signer.Domain()) {
			return false
		}
	}
	return true
}
