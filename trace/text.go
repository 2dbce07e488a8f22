package trace

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText prints messages as a readable timeline, times in loc, each
// with the digits its source has (whole seconds from maillog_file, say).
func WriteText(w io.Writer, msgs []*Message, loc *time.Location) error {
	ts := func(t Stamp) string { return t.Show(loc) }
	for i, m := range msgs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		head := "Message " + m.QueueID + " on " + m.Host
		if m.TraceID != "" {
			head += ", trace " + m.TraceID
		}
		fmt.Fprintln(w, head)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		field := func(k, v string) {
			if v != "" {
				fmt.Fprintf(tw, "  %s\t%s\n", k, v)
			}
		}
		field("Message-ID", m.MessageID)
		field("Sender", m.Sender)
		if !strings.EqualFold(m.EnvelopeSender, m.Sender) {
			field("Envelope sender", m.EnvelopeSender+" (the return path Postfix sent with)")
		}
		field("From", m.From)
		field("Subject", m.Subject)
		if m.Class != "" || m.Pool != "" {
			field("Class / pool", m.Class+" / "+PoolName(m.Pool))
		}
		if m.Accepted != nil {
			field("Accepted", ts(*m.Accepted)+" (by the milter)")
		}
		if m.Client != nil {
			c := strings.TrimSpace(m.Client.Name + " [" + m.Client.IP + "]")
			if m.Client.SASLUser != "" {
				c += ", SASL user " + m.Client.SASLUser
			}
			field("Client", c)
		}
		if m.FirstSeen != nil {
			field("In the log", ts(*m.FirstSeen)+" to "+ts(*m.LastSeen)+", "+orElse(m.State, "queued"))
		}
		field("Report on", m.NotificationFor)
		if len(m.Hops) > 0 {
			var hops []string
			for _, h := range m.Hops {
				hops = append(hops, h.QueueID+" ("+orElse(h.State, "queued")+")")
			}
			field("Queue entries", strings.Join(hops, " -> "))
		}
		tw.Flush()
		for _, miss := range m.Missing {
			fmt.Fprintf(w, "  ! %s\n", miss)
		}
		writeRecipients(w, m.Recipients, ts, "  ")
		for _, n := range m.Notifications {
			fmt.Fprintf(w, "\n  %s notification %s, %s\n", n.Kind, n.QueueID, ts(n.Time))
			writeRecipients(w, n.Recipients, ts, "    ")
		}
		if len(m.Bounces) > 0 {
			fmt.Fprintf(w, "\n  Reports that came back:\n")
			for _, b := range m.Bounces {
				if b.Acknowledgement != "" {
					fmt.Fprintf(w, "    %s  read receipt for %s: %s (matched by %s)\n      %s\n", ts(b.Time), b.Recipient,
						b.Acknowledgement, b.MatchedBy, b.Disposition)
					continue
				}
				status := b.Status
				if b.InferredStatus != "" {
					status += " (words say " + b.InferredStatus + ")"
				}
				fmt.Fprintf(w, "    %s  %s %s for %s: %s %s (matched by %s)\n      %s\n", ts(b.Time), b.Kind, b.Action, b.Recipient,
					status, b.Category, b.MatchedBy, b.Diagnostic)
			}
		}
		if len(m.Timeline) > 0 {
			fmt.Fprintf(w, "\n  Timeline (causal order; a time without a fraction stands for that whole second):\n")
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			for _, e := range m.Timeline {
				what := e.Kind
				if e.QueueID != "" {
					what += " " + e.QueueID
				}
				fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\n", ts(e.Time), e.Clock, what, e.Recipient, e.Status, e.Detail)
			}
			tw.Flush()
		}
	}
	return nil
}

func writeRecipients(w io.Writer, rs []Recipient, ts func(Stamp) string, indent string) {
	for _, r := range rs {
		fmt.Fprintf(w, "\n%s%s: %s\n", indent, r.Address, strings.ToUpper(string(r.Status)))
		for _, a := range r.Attempts {
			via := a.Pool
			if a.SourceIP != "" {
				via = strings.TrimSpace(via + " " + a.SourceIP)
			}
			relay := a.Relay
			if a.RelayIP != "" {
				relay += "[" + a.RelayIP + "]"
			}
			if a.RelayPath != "" {
				relay += "[" + a.RelayPath + "]"
			}
			if a.QueuedAs != "" {
				relay += ", queued as " + a.QueuedAs
			}
			fmt.Fprintf(w, "%s  %s  %-8s %-6s %s -> %s  delay %gs\n", indent, ts(a.Time), a.Status, a.DSN, orElse(via, "-"), orElse(relay, "-"), a.Delay)
			fmt.Fprintf(w, "%s      %s\n", indent, orElse(a.Response, "(no reply text)"))
		}
	}
}

// PoolName is how a message's pool is shown: mail of classes without VERP
// leaves through no pool.
func PoolName(pool string) string {
	if pool == "" {
		return NoPool
	}
	return pool
}

// NoPool is what PoolName shows for mail routed by Postfix alone.
const NoPool = "none (Postfix's own routing)"
