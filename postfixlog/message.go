package postfixlog

import (
	"bytes"
)

// parseMessage reads what a Postfix daemon said, after its program tag.
func parseMessage(r *Record, text []byte) {
	r.Kind = Other
	switch {
	case hasPrefix(text, "warning: "):
		r.Kind = Warning
		r.Text = text[9:]
		// "warning: unknown[192.0.2.7]: SASL LOGIN authentication failed":
		// the client it is about.
		if sp := bytes.IndexByte(r.Text, ' '); sp > 3 && r.Text[sp-1] == ':' && r.Text[sp-2] == ']' {
			parseClient(r, r.Text[:sp-1])
		}
		return
	case hasPrefix(text, "fatal: "), hasPrefix(text, "panic: "), hasPrefix(text, "error: "):
		r.Kind = Fatal
		return
	}
	if hasPrefix(text, "NOQUEUE: ") {
		r.Text = text[9:]
		parseReject(r, r.Text)
		if r.Kind == Other {
			r.Kind = Unknown
		}
		return
	}
	if qid, rest, ok := queueID(text); ok {
		r.QueueID, r.Text = qid, rest
		parseQueued(r, rest)
		if r.Kind == Other && !ignoredQueued(r) {
			r.Kind = Unknown
		}
		return
	}
	parseUnqueued(r, text)
}

// queueID reads "QID: " at the start of text.
func queueID(text []byte) (qid, rest []byte, ok bool) {
	n := QueueIDLen(text)
	if n == 0 || n+1 >= len(text) || text[n] != ':' || text[n+1] != ' ' {
		return nil, nil, false
	}
	return text[:n], text[n+2:], true
}

// Character classes of queue IDs, by byte.
const (
	classHex   = 1 << iota // 0-9 A-F: short queue IDs
	classLong              // the 52 characters of long queue IDs: digits and consonants
	classInode             // the first 51 of them (no z): a long ID's inode part
	classAlnum             // any letter or digit: where a queue ID word ends
)

var qidClass = func() (t [256]uint8) {
	const long = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
	for i := 0; i < len(long); i++ {
		t[long[i]] |= classLong
		if long[i] != 'z' {
			t[long[i]] |= classInode
		}
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= classHex | classAlnum
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] |= classAlnum
		t[c+'a'-'A'] |= classAlnum
		if c <= 'F' {
			t[c] |= classHex
		}
	}
	return t
}()

// QueueIDLen is the length of the queue ID that b starts with, or 0 when
// the word at its start is not one. Postfix makes queue IDs in one of two
// formats (postconf(5), enable_long_queue_ids):
//
//   - short: uppercase hexadecimal, 5 digits of microseconds then the
//     file's inode number (0AE91984252, and also CACACACACACA);
//   - long: at least 6 characters of seconds and 4 of microseconds in a
//     52-character alphabet of digits and consonants, a "z", then the
//     inode number in the alphabet's first 51 characters (no z):
//     4dK9Fq1Mpkz7B3.
//
// Words such as "statistics", "warning" or "Deleted" fit neither.
func QueueIDLen(b []byte) int {
	n, all, hex := 0, uint8(0xff), true
	lastZ := -1
	for n < len(b) && n <= maxQueueID {
		c := qidClass[b[n]]
		if c&classAlnum == 0 {
			break
		}
		all &= c
		if c&classHex == 0 {
			hex = false
		}
		if b[n] == 'z' {
			lastZ = n
		}
		n++
	}
	switch {
	case n < 6 || n > maxQueueID:
		return 0
	case hex:
		return n
	case all&classLong != 0 && lastZ >= 10 && lastZ < n-1:
		// Everything is in the long alphabet, and the last z (the inode
		// part has none) comes after at least 10 characters and before
		// at least one.
		return n
	}
	return 0
}

// maxQueueID bounds a queue ID's length: a long ID of a 64-bit time and
// inode has 25 characters.
const maxQueueID = 32

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// parseQueued reads a line about one message.
func parseQueued(r *Record, text []byte) {
	d := string(r.Daemon)
	switch {
	case hasPrefix(text, "to="):
		r.Kind = Delivery
		parseDelivery(r, text)
	case d == "qmgr" || d == "oqmgr":
		switch {
		case hasPrefix(text, "from="):
			parseQmgrFrom(r, text)
		case hasPrefix(text, "removed"):
			r.Kind = Removed
		}
	case d == "cleanup":
		parseCleanup(r, text)
	case d == "smtpd" || d == "qmqpd":
		switch {
		case hasPrefix(text, "client="):
			r.Kind = SmtpdClient
			parseClientLine(r, text)
		default:
			parseReject(r, text)
		}
	case d == "pickup":
		if hasPrefix(text, "uid=") {
			r.Kind = Pickup
			parsePickup(r, text)
		}
	case d == "bounce" || d == "defer" || d == "trace":
		parseNotification(r, text)
	case d == "postsuper":
		switch {
		case hasPrefix(text, "removed"):
			r.Kind = Removed
		case hasPrefix(text, "requeued"), hasPrefix(text, "placed on hold"), hasPrefix(text, "released from hold"),
			hasPrefix(text, "expired"):
			r.Kind = Postsuper
			r.Action = text
		}
	case d == "smtp" || d == "lmtp":
		if hasPrefix(text, "host ") || hasPrefix(text, "lost connection with ") || hasPrefix(text, "conversation with ") ||
			hasPrefix(text, "enabling PIX workarounds") || hasPrefix(text, "Server certificate not") ||
			hasPrefix(text, "SASL authentication failed") || hasPrefix(text, "breaking line") {
			r.Kind = DeliveryNote
			switch {
			case hasPrefix(text, "host "):
				parseHostSaid(r, text[5:])
			case hasPrefix(text, "lost connection with "):
				parseRelayUntil(r, text[21:], " while ")
			case hasPrefix(text, "conversation with "):
				parseRelayUntil(r, text[18:], " timed out")
			}
		}
	}
}

// ignoredQueued tells the lines about a message that tracing does not
// need and knows it does not: anything else about a message that this
// package does not read is Unknown, counted and kept for inspection.
func ignoredQueued(r *Record) bool {
	switch string(r.Daemon) {
	case "qmgr", "oqmgr":
		return hasPrefix(r.Text, "skipped, still being delivered")
	case "postsuper":
		return true // what it does to a message is one word, all read above or harmless
	}
	return false
}

// parseUnqueued reads a line about no particular message.
func parseUnqueued(r *Record, text []byte) {
	switch string(r.Daemon) {
	case "smtpd", "qmqpd":
		switch {
		case hasPrefix(text, "connect from "):
			r.Kind = SmtpdConnect
			parseClient(r, text[13:])
		case hasPrefix(text, "disconnect from "):
			r.Kind = SmtpdDisconnect
			parseClient(r, text[16:])
		case hasPrefix(text, "lost connection after "), hasPrefix(text, "timeout after "):
			r.Kind = SmtpdLost
			after := bytes.Index(text, []byte(" after "))
			rest := text[after+7:]
			if from := bytes.Index(rest, []byte(" from ")); from >= 0 {
				r.Stage = rest[:from]
				parseClient(r, rest[from+6:])
			}
		default:
			if tlsLine(r, text) {
				return
			}
			// "too many errors after RCPT from host[ip]", "improper command
			// pipelining after CONNECT from host[ip]: ...", "SSL_accept
			// error from host[ip]: ...": the client and the stage.
			if i := bytes.Index(text, []byte(" from ")); i > 0 && i < 64 {
				if a := bytes.Index(text[:i], []byte(" after ")); a >= 0 {
					r.Stage = text[a+7 : i]
				}
				parseClient(r, text[i+6:])
			}
		}
	case "postscreen":
		r.Kind = PostscreenEvent
		if sp := bytes.IndexByte(text, '['); sp >= 0 {
			parseClient(r, text[sp:])
		}
	case "smtp", "lmtp":
		switch {
		case hasPrefix(text, "connect to "):
			r.Kind = ConnectTo
			rest := text[11:]
			end := bytes.Index(rest, []byte(": "))
			if end < 0 {
				end = len(rest)
			} else {
				r.Response = rest[end+2:]
			}
			parseRelay(r, rest[:end])
		case hasPrefix(text, "SSL_connect error to "):
			rest := text[21:]
			if end := bytes.Index(rest, []byte(": ")); end > 0 {
				parseRelay(r, rest[:end])
			}
		default:
			tlsLine(r, text)
		}
	}
}

// tlsLine reads "... TLS connection established to|from host[ip]:port: details".
func tlsLine(r *Record, text []byte) bool {
	i := bytes.Index(text, []byte("TLS connection established "))
	if i < 0 || i > 16 {
		return false
	}
	r.Kind = TLS
	rest := text[i+27:]
	toFrom := 0
	switch {
	case hasPrefix(rest, "to "):
		toFrom = 3
	case hasPrefix(rest, "from "):
		toFrom = 5
	}
	rest = rest[toFrom:]
	end := bytes.Index(rest, []byte(": "))
	if end < 0 {
		return true
	}
	peer := rest[:end]
	r.Response = rest[end+2:] // protocol and cipher
	r.Action = text[:i+3]     // Trusted TLS, Untrusted TLS, Anonymous TLS, Verified TLS
	if toFrom == 3 {
		parseRelay(r, peer)
	} else {
		parseClient(r, peer)
	}
	return true
}

// parseDelivery reads to=<r>, orig_to=<o>, relay=..., conn_use=N, delay=N,
// delays=a/b/c/d, dsn=X.Y.Z, status=WORD (reply).
func parseDelivery(r *Record, text []byte) {
	rest := text
	for len(rest) > 0 {
		eq := bytes.IndexByte(rest, '=')
		if eq <= 0 {
			return
		}
		key := rest[:eq]
		rest = rest[eq+1:]
		if string(key) == "status" {
			parseStatus(r, rest)
			return
		}
		var val []byte
		if len(rest) > 0 && rest[0] == '<' {
			gt := addressEnd(rest[1:])
			if gt < 0 {
				return
			}
			val, rest = rest[1:gt+1], rest[gt+2:]
			rest = skipComma(rest)
		} else {
			end := bytes.Index(rest, []byte(", "))
			if end < 0 {
				end = len(rest)
			}
			val, rest = rest[:end], skipComma(rest[end:])
		}
		switch string(key) {
		case "to":
			r.To = val
		case "orig_to":
			r.OrigTo = val
		case "relay":
			parseRelay(r, val)
		case "conn_use":
			r.ConnUse = uint32(atoi(val))
		case "delay":
			r.Delay = atof(val)
		case "delays":
			for k := 0; k < 4; k++ {
				slash := bytes.IndexByte(val, '/')
				if slash < 0 {
					r.Delays[k] = atof(val)
					break
				}
				r.Delays[k] = atof(val[:slash])
				val = val[slash+1:]
			}
		case "dsn":
			r.DSN = val
		}
	}
}

func skipComma(b []byte) []byte {
	if hasPrefix(b, ", ") {
		return b[2:]
	}
	if hasPrefix(b, ",") {
		return b[1:]
	}
	return b
}

// parseStatus reads "sent (250 2.0.0 Ok)": the reply runs from the first
// "(" to the last ")", whatever it holds in between.
func parseStatus(r *Record, text []byte) {
	sp := bytes.IndexByte(text, ' ')
	if sp < 0 {
		r.Status = text
		return
	}
	r.Status = text[:sp]
	rest := text[sp+1:]
	if len(rest) > 0 && rest[0] == '(' {
		end := bytes.LastIndexByte(rest, ')')
		if end > 0 {
			r.Response = rest[1:end]
		} else {
			r.Response = rest[1:] // cut line: keep what is there
		}
	} else {
		r.Response = rest
	}
	if string(r.Status) == "sent" {
		r.QueuedAs = queuedAs(r.Response, string(r.Daemon) == "local")
	}
}

// queuedAs finds the queue ID a receiving Postfix gave the message, in its
// reply "250 2.0.0 Ok: queued as 3F2A81C0B2" (also as a content filter
// passes it on: "250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok:
// queued as 3F2A81C0B2"), or local(8)'s "forwarded as 3F2A81C0B2" (an
// alias or .forward). IDs not in Postfix's formats are not returned.
func queuedAs(reply []byte, local bool) []byte {
	key := "queued as "
	if local {
		key = "forwarded as "
	}
	i := bytes.Index(reply, []byte(key))
	if i < 0 {
		return nil
	}
	v := reply[i+len(key):]
	n := QueueIDLen(v)
	if n == 0 || n < len(v) && v[n] != ' ' && v[n] != ')' && v[n] != ',' && v[n] != ';' {
		return nil
	}
	return v[:n]
}

// addressEnd finds the ">" that closes an address whose "<" came just
// before v: the first one, past a quoted local part ("a>b"@example.com),
// that is followed by the end, a comma or a space.
func addressEnd(v []byte) int {
	i := 0
	if len(v) > 0 && v[0] == '"' {
		for i = 1; i < len(v) && v[i] != '"'; i++ {
			if v[i] == '\\' {
				i++
			}
		}
	}
	for i < len(v) {
		gt := bytes.IndexByte(v[i:], '>')
		if gt < 0 {
			return -1
		}
		i += gt
		if i+1 == len(v) || v[i+1] == ',' || v[i+1] == ' ' {
			return i
		}
		i++
	}
	return -1
}

// parseRelay reads host[ip]:port, host[ip], host[/path] or host[private/name]
// (a UNIX-domain socket: LMTP to Dovecot, a local filter), or a bare word
// (none, local).
func parseRelay(r *Record, v []byte) {
	r.Relay = v
	open := bytes.IndexByte(v, '[')
	if open < 0 {
		r.RelayHost = v
		return
	}
	close := bytes.IndexByte(v[open:], ']')
	if close < 0 {
		r.RelayHost = v
		return
	}
	r.RelayHost = v[:open]
	if addr := v[open+1 : open+close]; bytes.IndexByte(addr, '/') >= 0 {
		r.RelayPath = addr
		return
	}
	r.RelayIP = v[open+1 : open+close]
	if rest := v[open+close+1:]; len(rest) > 1 && rest[0] == ':' {
		r.RelayPort = uint16(atoi(rest[1:]))
	}
}

// parseClient reads host[ip], host[ip]:port or [ip]:port, and what follows.
func parseClient(r *Record, v []byte) []byte {
	open := bytes.IndexByte(v, '[')
	if open < 0 {
		return v
	}
	close := bytes.IndexByte(v[open:], ']')
	if close < 0 {
		return v
	}
	r.ClientHost = v[:open]
	r.ClientIP = v[open+1 : open+close]
	rest := v[open+close+1:]
	if len(rest) > 1 && rest[0] == ':' && isDigit(rest[1]) {
		i := 1
		for i < len(rest) && isDigit(rest[i]) {
			i++
		}
		r.ClientPort = uint16(atoi(rest[1:i]))
		rest = rest[i:]
	}
	return rest
}

// parseClientLine reads client=host[ip], sasl_method=M, sasl_username=U.
func parseClientLine(r *Record, text []byte) {
	rest := parseClient(r, text[7:])
	for len(rest) > 0 {
		rest = skipComma(rest)
		eq := bytes.IndexByte(rest, '=')
		if eq < 0 {
			return
		}
		key := rest[:eq]
		rest = rest[eq+1:]
		end := bytes.Index(rest, []byte(", "))
		if end < 0 {
			end = len(rest)
		}
		switch string(key) {
		case "sasl_method":
			r.SASLMethod = rest[:end]
		case "sasl_username":
			r.SASLUser = rest[:end]
		case "orig_queue_id":
			r.OrigQueueID = rest[:end]
		case "orig_client":
			r.OrigClient = rest[:end]
		}
		rest = rest[end:]
	}
}

// parseQmgrFrom reads from=<s>, size=N, nrcpt=N (queue active) and
// from=<s>, status=expired, returned to sender.
// from=<s>, status=force-expired, returned to sender (postsuper -e), and
// the sender without angle brackets (from=s, size=N).
func parseQmgrFrom(r *Record, text []byte) {
	var rest []byte
	if hasPrefix(text, "from=<") {
		gt := addressEnd(text[6:])
		if gt < 0 {
			return
		}
		r.From, rest = text[6:6+gt], skipComma(text[7+gt:])
	} else {
		end := bytes.Index(text, []byte(", "))
		if end < 0 {
			return
		}
		r.From, rest = text[5:end], text[end+2:]
	}
	if hasPrefix(rest, "status=") {
		st := rest[7:]
		if end := bytes.IndexAny(st, ", "); end >= 0 {
			st = st[:end]
		}
		if string(st) == "expired" || string(st) == "force-expired" {
			r.Kind = Expired
			r.Status = st
		}
		return
	}
	r.Kind = QueueActive
	for len(rest) > 0 {
		eq := bytes.IndexByte(rest, '=')
		if eq < 0 {
			return
		}
		key := rest[:eq]
		rest = rest[eq+1:]
		end := bytes.IndexAny(rest, ", ")
		if end < 0 {
			end = len(rest)
		}
		switch string(key) {
		case "size":
			r.Size = atoi(rest[:end])
		case "nrcpt":
			r.Nrcpt = uint32(atoi(rest[:end]))
		}
		rest = skipComma(rest[end:])
	}
}

// parseCleanup reads message-id=, resent-message-id=, milter actions and
// header/body check lines.
func parseCleanup(r *Record, text []byte) {
	switch {
	case hasPrefix(text, "message-id="):
		r.Kind = MessageID
		r.MessageID = bytes.TrimSpace(text[11:])
		return
	case hasPrefix(text, "resent-message-id="):
		r.Kind = ResentMessageID
		r.MessageID = bytes.TrimSpace(text[18:])
		return
	case hasPrefix(text, "milter-reject: "), hasPrefix(text, "milter-discard: "), hasPrefix(text, "milter-hold: "):
		parseReject(r, text)
		return
	}
	colon := bytes.Index(text, []byte(": "))
	if colon <= 0 || colon > 24 {
		return
	}
	rest := text[colon+2:]
	if !hasPrefix(rest, "header ") && !hasPrefix(rest, "body ") && !hasPrefix(rest, "END-OF-MESSAGE") {
		return
	}
	r.Kind = HeaderCheck
	r.Action = text[:colon]
	parseCheck(r, rest)
}

// parseCheck reads "header NAME: VALUE from CLIENT; from=<s> to=<r>
// proto=P helo=<h>: TEXT" (or "body LINE from ..."), as cleanup logs a
// header or body check's action: CLIENT is host[ip] or "local".
func parseCheck(r *Record, rest []byte) {
	for i := 0; i < len(rest); i++ {
		if rest[i] != ';' || !(hasSuffix(rest[:i], "]") || hasSuffix(rest[:i], " local")) || !parseTail(r, rest[i+1:], true) {
			continue
		}
		head := rest[:i]
		if from := bytes.LastIndex(head, []byte(" from ")); from >= 0 {
			parseClient(r, head[from+6:])
			head = head[:from]
		}
		if hasPrefix(head, "header ") {
			head = head[7:]
			if c := bytes.Index(head, []byte(": ")); c > 0 {
				r.HeaderName, r.HeaderValue = head[:c], head[c+2:]
			} else {
				r.HeaderName = head
			}
		} else if hasPrefix(head, "body ") {
			r.HeaderValue = head[5:]
		}
		return
	}
}

func hasSuffix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[len(b)-len(s):]) == s
}

// The fields Postfix appends to a reject or check line, in this order,
// each only when known: smtpd's log_whatsup() and cleanup's action log.
var tailKeys = [...]string{" from=<", " to=<", " proto=", " helo=<"}

// parseTail reads what follows the ";" of a reject or check line: "
// from=<s> to=<r> proto=P helo=<h>" with any of the fields absent (a VRFY
// or CONNECT reject has no sender), commas between them as postscreen
// writes them, and with text ": TEXT" after them (check lines). It sets
// nothing and reports false when tail is not such a list.
func parseTail(r *Record, tail []byte, text bool) bool {
	var vals [4][]byte
	var actionText []byte
	next := 0
	rest := tail
	for len(rest) > 0 {
		if text && hasPrefix(rest, ": ") {
			actionText = rest[2:]
			break
		}
		if rest[0] == ',' {
			rest = rest[1:]
		}
		k := next
		for k < len(tailKeys) && !hasPrefix(rest, tailKeys[k]) {
			k++
		}
		if k == len(tailKeys) {
			return false
		}
		rest = rest[len(tailKeys[k]):]
		if k == 2 { // proto=WORD
			e := 0
			for e < len(rest) && rest[e] != ' ' && rest[e] != ',' && rest[e] != ':' {
				e++
			}
			vals[k], rest = rest[:e], rest[e:]
		} else {
			e := closeAngle(rest, k+1, text)
			if e < 0 {
				return false
			}
			vals[k], rest = rest[:e], rest[e+1:]
		}
		next = k + 1
	}
	r.From, r.To, r.Proto, r.Helo, r.ActionText = vals[0], vals[1], vals[2], vals[3], actionText
	return true
}

// closeAngle finds the ">" that ends a field's value: the first one after
// which the line ends, a later field starts (tailKeys from next on), or,
// when text may follow, ": " does. Addresses and HELO names may hold ">"
// and spaces ("user 1234"@example.com).
func closeAngle(v []byte, next int, text bool) int {
	for i := 0; i < len(v); i++ {
		if v[i] != '>' {
			continue
		}
		after := v[i+1:]
		if len(after) > 0 && after[0] == ',' {
			after = after[1:]
		}
		if len(after) == 0 || text && hasPrefix(after, ": ") {
			return i
		}
		for k := next; k < len(tailKeys); k++ {
			if hasPrefix(after, tailKeys[k]) {
				return i
			}
		}
	}
	return -1
}

// parsePickup reads "uid=N from=<s>", with " orig_id=QID" after it when the
// message was requeued (postsuper -r) under a new queue ID.
func parsePickup(r *Record, text []byte) {
	sp := bytes.IndexByte(text, ' ')
	if sp <= 4 {
		return
	}
	r.UID = text[4:sp]
	rest := text[sp+1:]
	if !hasPrefix(rest, "from=<") {
		return
	}
	gt := addressEnd(rest[6:])
	if gt < 0 {
		return
	}
	r.From = rest[6 : 6+gt]
	rest = rest[7+gt:]
	if i := bytes.Index(rest, []byte("orig_id=")); i >= 0 {
		v := rest[i+8:]
		r.OrigQueueID = v[:QueueIDLen(v)]
	}
}

// parseReject reads what smtpd, postscreen and cleanup log for a policy
// decision about mail: "ACTION: STAGE from host[ip]: REPLY; from=<s> to=<r>
// proto=P helo=<h>", STAGE being CONNECT, EHLO, HELO, MAIL, RCPT, DATA,
// END-OF-MESSAGE, VRFY, ETRN... ACTION reject and milter-reject refuse the
// mail (Kind Reject); reject_warning (warn_if_reject), warn, hold,
// discard, filter, redirect, milter-discard and milter-hold do not (Kind
// PolicyAction). The reply is kept alone, the fields after ";" apart.
func parseReject(r *Record, text []byte) {
	colon := bytes.Index(text, []byte(": "))
	if colon <= 0 {
		return
	}
	action := text[:colon]
	switch string(action) {
	case "reject", "milter-reject":
		r.Kind = Reject
	case "reject_warning", "warn", "hold", "discard", "filter", "redirect", "milter-discard", "milter-hold":
		r.Kind = PolicyAction
	default:
		return
	}
	r.Action = action
	rest := text[colon+2:]
	from := bytes.Index(rest, []byte(" from "))
	if from < 0 {
		return
	}
	r.Stage = rest[:from]
	rest = parseClient(r, rest[from+6:])
	if hasPrefix(rest, ": ") {
		rest = rest[2:]
	}
	r.Response = rest
	for i := 0; i < len(rest); i++ {
		semi := bytes.IndexByte(rest[i:], ';')
		if semi < 0 {
			break
		}
		i += semi
		if parseTail(r, rest[i+1:], false) {
			r.Response = rest[:i]
			break
		}
	}
	r.DSN = EnhancedCode(r.Response)
}

// enhancedCode finds the X.Y.Z code after a reply's three-digit code, or
// at its start (a milter's reply as cleanup logs it: "5.7.1 Command
// rejected").
func EnhancedCode(reply []byte) []byte {
	v := reply
	if len(v) >= 4 && isDigit(v[0]) && isDigit(v[1]) && isDigit(v[2]) && (v[3] == ' ' || v[3] == '-') {
		v = v[4:]
	}
	if len(v) < 5 || v[0] != '2' && v[0] != '4' && v[0] != '5' || v[1] != '.' {
		return nil
	}
	i := 0
	dots := 0
	for i < len(v) && (isDigit(v[i]) || v[i] == '.') {
		if v[i] == '.' {
			dots++
		}
		i++
	}
	if dots != 2 || i < 5 || v[i-1] == '.' || i < len(v) && v[i] != ' ' {
		return nil
	}
	return v[:i]
}

// parseRelayUntil reads the next hop before sep.
func parseRelayUntil(r *Record, text []byte, sep string) {
	if end := bytes.Index(text, []byte(sep)); end > 0 {
		parseRelay(r, text[:end])
	}
}

// parseHostSaid reads "mx[ip] said: 450 4.2.1 ... (in reply to RCPT TO
// command)" of an attempt that moved on to another server, and "mx[ip]
// refused to talk to me: 554 ..." (its greeting).
func parseHostSaid(r *Record, text []byte) {
	said := bytes.Index(text, []byte(" said: "))
	if said < 0 {
		if i := bytes.Index(text, []byte(" refused to talk to me: ")); i > 0 {
			parseRelay(r, text[:i])
			r.Response = text[i+24:]
			r.DSN = EnhancedCode(r.Response)
		}
		return
	}
	parseRelay(r, text[:said])
	r.Response = text[said+7:]
	r.DSN = EnhancedCode(r.Response)
}

// parseNotification reads "sender non-delivery notification: CHILD".
func parseNotification(r *Record, text []byte) {
	i := bytes.Index(text, []byte(" notification: "))
	if i < 0 {
		return
	}
	r.Kind = Notification
	kind := text[:i]
	if sp := bytes.IndexByte(kind, ' '); sp >= 0 {
		kind = kind[sp+1:] // drop "sender" / "postmaster"
	}
	r.NotificationKind = kind
	r.Child = bytes.TrimSpace(text[i+15:])
}

// atof reads a small non-negative decimal like Postfix's delays (0.02).
func atof(b []byte) float32 {
	var whole, frac, scale float64 = 0, 0, 1
	i := 0
	for ; i < len(b) && isDigit(b[i]); i++ {
		whole = whole*10 + float64(b[i]-'0')
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && isDigit(b[i]); i++ {
			frac = frac*10 + float64(b[i]-'0')
			scale *= 10
		}
	}
	return float32(whole + frac/scale)
}
