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
		return
	case hasPrefix(text, "fatal: "), hasPrefix(text, "panic: "), hasPrefix(text, "error: "):
		r.Kind = Fatal
		return
	}
	if hasPrefix(text, "NOQUEUE: ") {
		r.Text = text[9:]
		parseReject(r, r.Text)
		return
	}
	if qid, rest, ok := queueID(text); ok {
		r.QueueID, r.Text = qid, rest
		parseQueued(r, rest)
		return
	}
	parseUnqueued(r, text)
}

// queueID reads "QID: " at the start of text. Short queue IDs are hex
// (0AE91984252), long ones base-52 (4Q1ABCDxyzW3zJk); words such as
// "statistics:" or "Deleted:" hold no digit and are not taken for one.
func queueID(text []byte) (qid, rest []byte, ok bool) {
	i := 0
	digit := false
	for ; i < len(text) && i <= 24; i++ {
		c := text[i]
		if isDigit(c) {
			digit = true
		} else if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			break
		}
	}
	if i < 5 || i > 24 || !digit || i+1 >= len(text) || text[i] != ':' || text[i+1] != ' ' {
		return nil, nil, false
	}
	return text[:i], text[i+2:], true
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// parseQueued reads a line about one message.
func parseQueued(r *Record, text []byte) {
	d := string(r.Daemon)
	switch {
	case hasPrefix(text, "to=<"):
		r.Kind = Delivery
		parseDelivery(r, text)
	case d == "qmgr" || d == "oqmgr":
		switch {
		case hasPrefix(text, "from=<"):
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
		case hasPrefix(text, "reject: "), hasPrefix(text, "milter-reject: "), hasPrefix(text, "reject_warning: "):
			parseReject(r, text)
		}
	case d == "pickup":
		if hasPrefix(text, "uid=") {
			r.Kind = Pickup
			sp := bytes.IndexByte(text, ' ')
			if sp > 4 {
				r.UID = text[4:sp]
				r.From = angle(text[sp+1:], "from=<")
			}
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
			hasPrefix(text, "enabling PIX workarounds") || hasPrefix(text, "Server certificate not") {
			r.Kind = DeliveryNote
			if hasPrefix(text, "host ") {
				parseHostSaid(r, text[5:])
			}
		}
	}
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
			gt := bytes.IndexByte(rest, '>')
			if gt < 0 {
				return
			}
			val, rest = rest[1:gt], rest[gt+1:]
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
			return
		}
		r.Response = rest[1:] // cut line: keep what is there
		return
	}
	r.Response = rest
}

// parseRelay reads host[ip]:port, host[ip], or a bare word (none, local).
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
		}
		rest = rest[end:]
	}
}

// parseQmgrFrom reads from=<s>, size=N, nrcpt=N (queue active) and
// from=<s>, status=expired, returned to sender.
func parseQmgrFrom(r *Record, text []byte) {
	gt := bytes.IndexByte(text, '>')
	if gt < 0 {
		return
	}
	r.From = text[6:gt]
	rest := skipComma(text[gt+1:])
	if hasPrefix(rest, "status=expired") {
		r.Kind = Expired
		r.Status = rest[7:14]
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

// parseCleanup reads message-id=, resent-message-id= and header/body
// check lines.
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
	case hasPrefix(text, "milter-reject: "):
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
// proto=P helo=<h>: TEXT" (or "body LINE from ...").
func parseCheck(r *Record, rest []byte) {
	ctx := bytes.LastIndex(rest, []byte("; from=<"))
	if ctx < 0 {
		return
	}
	head, tail := rest[:ctx], rest[ctx+2:]
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
	parseEnvelope(r, tail)
}

// parseEnvelope reads "from=<s> to=<r> proto=P helo=<h>" (with or without
// commas, as postscreen writes it) and an optional ": TEXT" after it.
func parseEnvelope(r *Record, tail []byte) {
	r.From = angle(tail, "from=<")
	r.To = angle(tail, "to=<")
	if p := bytes.Index(tail, []byte("proto=")); p >= 0 {
		v := tail[p+6:]
		end := bytes.IndexAny(v, ", ")
		if end < 0 {
			end = len(v)
		}
		r.Proto = v[:end]
	}
	if h := bytes.Index(tail, []byte("helo=<")); h >= 0 {
		v := tail[h+6:]
		if gt := bytes.LastIndexByte(v, '>'); gt >= 0 {
			r.Helo = v[:gt]
			if after := v[gt+1:]; hasPrefix(after, ": ") {
				r.ActionText = after[2:]
			}
		}
	}
}

// angle returns the address after key (which ends with "<"), up to ">".
func angle(text []byte, key string) []byte {
	i := bytes.Index(text, []byte(key))
	if i < 0 {
		return nil
	}
	v := text[i+len(key):]
	gt := bytes.IndexByte(v, '>')
	if gt < 0 {
		return nil
	}
	return v[:gt]
}

// parseReject reads "reject: RCPT from host[ip]: 554 5.7.1 <r>: Relay
// access denied; from=<s> to=<r> proto=ESMTP helo=<h>" and its milter-reject
// and postscreen variants.
func parseReject(r *Record, text []byte) {
	colon := bytes.Index(text, []byte(": "))
	if colon <= 0 {
		return
	}
	action := text[:colon]
	switch string(action) {
	case "reject", "milter-reject", "reject_warning", "milter-discard", "milter-hold":
	default:
		return
	}
	r.Kind = Reject
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
	ctx := bytes.LastIndex(rest, []byte("; from=<"))
	if ctx < 0 {
		r.Response = rest
	} else {
		r.Response = rest[:ctx]
		parseEnvelope(r, rest[ctx+2:])
	}
	r.DSN = enhancedCode(r.Response)
}

// enhancedCode finds the X.Y.Z code after a reply's three-digit code.
func enhancedCode(reply []byte) []byte {
	if len(reply) < 9 || !isDigit(reply[0]) || !isDigit(reply[1]) || !isDigit(reply[2]) || reply[3] != ' ' {
		return nil
	}
	v := reply[4:]
	i := 0
	dots := 0
	for i < len(v) && (isDigit(v[i]) || v[i] == '.') {
		if v[i] == '.' {
			dots++
		}
		i++
	}
	if dots != 2 || i < 5 {
		return nil
	}
	return v[:i]
}

// parseHostSaid reads "mx[ip] said: 450 4.2.1 ... (in reply to RCPT TO
// command)" of an attempt that moved on to another server.
func parseHostSaid(r *Record, text []byte) {
	said := bytes.Index(text, []byte(" said: "))
	if said < 0 {
		return
	}
	parseRelay(r, text[:said])
	r.Response = text[said+7:]
	r.DSN = enhancedCode(r.Response)
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
