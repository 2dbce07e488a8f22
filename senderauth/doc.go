// Package senderauth checks what receivers require of a bulk sender, for
// every class's domains and every pool's dedicated IP and transport, over
// DNS (package resolver) and against the Postfix configuration:
//
//   - SPF (RFC 7208), evaluated with blitiri.com.ar/go/spf for each
//     envelope domain (the VERP bounce domain for classes with VERP) and
//     each pool IP, for MAIL FROM and for HELO, with the record's DNS
//     lookups counted against the limit of 10 and its void lookups against 2;
//   - DKIM (RFC 6376, RFC 8301, RFC 8463): the signer's selectors, read from
//     OpenDKIM's KeyTable and SigningTable, rspamd's dkim_signing.conf or
//     dkimpy-milter's configuration; the key in DNS is the private key's
//     public half (a message signed with it verifies through DNS, with
//     github.com/emersion/go-msgauth); RSA keys of at least 1024 bits
//     (2048 advised), Ed25519 noted;
//   - DMARC (RFC 9989: the DNS tree walk finds the policy and the
//     organisational domain; RFC 7489 records still read): the record, its
//     p, sp and np, the alignment each class will get (SPF through its
//     envelope domain, DKIM through d=), and the authorisation of rua and
//     ruf addresses in other domains (RFC 9990 section 4);
//   - forward-confirmed reverse DNS of each pool IP, equal to its
//     transport's smtp_helo_name; IPv6 enabled without an IPv6 source
//     address;
//   - TLS: each pool transport's smtp_tls_security_level; MTA-STS (RFC
//     8461) and TLS-RPT (RFC 8460) records of our domains;
//   - bulk-sender rules (Gmail and Yahoo since 2024, Microsoft since May
//     2025): one-click unsubscribe for marketing classes (RFC 8058) and the
//     complaint rate under 0.3% per provider.
//
// Each problem comes with the DNS record or Postfix line that fixes it;
// Records prints the SPF, DMARC and TLS-RPT records that fit the config.
package senderauth
