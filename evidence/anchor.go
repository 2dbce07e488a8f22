package evidence

import "time"

// Anchor is an RFC 3161 time stamp of one checkpoint: the TSA's token
// over the SHA-256 of the whole signed checkpoint note.
type Anchor struct {
	Origin string
	Size   int64 // the checkpoint's tree size
	// Time is the time the TSA states (genTime).
	Time   time.Time
	TSAURL string
	// Token is the DER TimeStampToken (a CMS SignedData), with the TSA's
	// certificates as the TSA sent them.
	Token []byte
}
