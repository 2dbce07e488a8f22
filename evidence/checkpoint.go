package evidence

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrCheckpoint means a checkpoint is malformed, unsigned by a known key,
// or for another log.
var ErrCheckpoint = errors.New("evidence: bad checkpoint")

// Checkpoint is a signed tree head of one log as stored.
type Checkpoint struct {
	Origin string
	Tree   tlog.Tree
	Time   time.Time // when it was signed
	KeyID  string
	// Note is the signed note: the C2SP tlog-checkpoint body (origin,
	// size, base64 root) and its signature lines.
	Note []byte
}

// CheckpointBody is the text of a C2SP tlog-checkpoint: the origin line,
// the tree size in decimal and the root hash in base64, each ending in a
// newline.
func CheckpointBody(origin string, t tlog.Tree) string {
	return origin + "\n" + strconv.FormatInt(t.N, 10) + "\n" + base64.StdEncoding.EncodeToString(t.Hash[:]) + "\n"
}

// ParseCheckpointBody reads a checkpoint's text. Extension lines after the
// root are allowed, as the format allows, and ignored.
func ParseCheckpointBody(text string) (origin string, t tlog.Tree, err error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return "", t, fmt.Errorf("%w: not origin, size and root lines", ErrCheckpoint)
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return "", t, fmt.Errorf("%w: size %q", ErrCheckpoint, lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return "", t, fmt.Errorf("%w: root %q", ErrCheckpoint, lines[2])
	}
	t.N = n
	copy(t.Hash[:], h)
	return lines[0], t, nil
}

// SignCheckpoint signs the log's tree as a checkpoint.
func SignCheckpoint(key *Key, origin string, t tlog.Tree, at time.Time) (*Checkpoint, error) {
	msg, err := note.Sign(&note.Note{Text: CheckpointBody(origin, t)}, key.Signer)
	if err != nil {
		return nil, fmt.Errorf("%w: signing %s at size %d: %w", ErrCheckpoint, origin, t.N, err)
	}
	return &Checkpoint{Origin: origin, Tree: t, Time: at.UTC(), KeyID: key.ID(), Note: msg}, nil
}

// OpenCheckpoint checks a signed checkpoint against the known keys and
// returns its tree. Signatures by unknown keys (witnesses, say) are
// ignored; at least one known key must have signed, and the origin must
// be the log's.
func OpenCheckpoint(msg []byte, origin string, known note.Verifiers) (tlog.Tree, []string, error) {
	n, err := note.Open(msg, known)
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			var ids []string
			for _, s := range unverified.Note.UnverifiedSigs {
				ids = append(ids, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
			}
			return tlog.Tree{}, nil, fmt.Errorf("%w: signed by no known key (signed by %s)", ErrCheckpoint, strings.Join(ids, ", "))
		}
		return tlog.Tree{}, nil, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	got, t, err := ParseCheckpointBody(n.Text)
	if err != nil {
		return tlog.Tree{}, nil, err
	}
	if got != origin {
		return tlog.Tree{}, nil, fmt.Errorf("%w: origin %q, not %q", ErrCheckpoint, got, origin)
	}
	var ids []string
	for _, s := range n.Sigs {
		ids = append(ids, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	return t, ids, nil
}

// CheckpointText returns the note's body (what RFC 3161 anchors hash is
// the whole note, signatures included).
func CheckpointText(msg []byte) string {
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return string(msg[:i+1])
	}
	return string(msg)
}
