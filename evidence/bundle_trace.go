package evidence

import (
	"slices"

	"github.com/mailtrace/mailtrace/trace"
	"github.com/mailtrace/mailtrace/traceid"
)

// MessageGroup is the chain keys of messages exported together in one
// bundle: a message, the queue entries it passed through (content
// filters, re-injection), and any other message found sharing one.
type MessageGroup struct {
	Name string // the trace ID, else the queue ID
	Keys []string
}

// GroupMessages groups the messages a trace lookup found into bundles.
func GroupMessages(msgs []*trace.Message) []MessageGroup {
	var groups []MessageGroup
	for _, m := range msgs {
		var keys []string
		if id, ok := traceid.Parse(m.TraceID); ok {
			keys = append(keys, MessageKey(id, m.Host, m.QueueID))
		}
		keys = append(keys, MessageKey([16]byte{}, m.Host, m.QueueID))
		for _, h := range m.Hops {
			keys = append(keys, MessageKey([16]byte{}, m.Host, h.QueueID))
		}
		name := m.QueueID
		if m.TraceID != "" {
			name = m.TraceID
		}
		merged := false
		for i := range groups {
			if slices.ContainsFunc(keys, func(k string) bool { return slices.Contains(groups[i].Keys, k) }) {
				for _, k := range keys {
					if !slices.Contains(groups[i].Keys, k) {
						groups[i].Keys = append(groups[i].Keys, k)
					}
				}
				merged = true
				break
			}
		}
		if !merged {
			slices.Sort(keys)
			groups = append(groups, MessageGroup{Name: name, Keys: slices.Compact(keys)})
		}
	}
	return groups
}
