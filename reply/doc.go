// Package reply classifies what a receiving mail server answered to a
// delivery attempt, as Postfix logged it or as a delivery status
// notification (RFC 3464) reports it in its Diagnostic-Code.
//
// Each reply gets:
//
//   - a category: the 17 that PowerMTA's bounce classifier made common
//     (bad-mailbox, bad-domain, inactive-mailbox, quota-issues,
//     policy-related, spam-related, content-related, virus-related,
//     relaying-issues, routing-errors, bad-connection, no-answer-from-host,
//     protocol-errors, message-expired, invalid-sender, bad-configuration,
//     other), with rejections aimed at the sending IP or domain rather than
//     the message kept apart from other policy rejections: blocklisted (a
//     public or private block list names our IP), reputation (the receiver
//     judges our IP or domain) and rate-limited (too much, too fast);
//   - whether it is a block signal: the receiver refuses the sending IP,
//     not the recipient or the message. Block signals are what block
//     detection counts per pool, source IP and provider;
//   - the receiving provider (google, microsoft, yahoo, apple, ...), from
//     the MX or relay host that answered, else from the recipient's domain.
//
// The decision goes from the most to the least specific evidence: a
// message given up on after temporary failures is message-expired whatever
// its last reply said; then the reply's text (receivers say far more in
// words than in codes: "550 5.7.1" is a block list, a spam verdict or a
// relay refusal depending on the words), then the words around it (a
// report's human-readable part about the recipient), then the enhanced
// status code (RFC 3463 and the IANA registry, RFC 5248), then the basic
// reply code (RFC 5321 section 4.2). A temporary reply (class 4) never
// gets a hard category (one that says the address itself is bad): its
// hard evidence is passed over, so that "450 4.2.0 mailbox temporarily
// unavailable" strikes no address off. Each decision by words also infers
// the enhanced status code its category supports (5.1.1 for a permanent
// bad-mailbox), for reports that state only a class.
//
// The rules are data: rules.yaml, shipped in this package, lists the text
// patterns per category, the codes and the providers; an administrator can
// replace it with a file of their own (classify.rules_file) and add
// providers in the main configuration. Text patterns are matched all at
// once by an Aho-Corasick automaton, case-insensitively, so classifying a
// reply costs one pass over its bytes whatever the number of rules.
package reply
