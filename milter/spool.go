package milter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/traceid"
)

// spool keeps accept records on disk while the store cannot take them. Each
// batch is one file of JSON lines (readable by an admin with any tool),
// written whole under a temporary name, synced, then renamed, so a file
// that exists is complete. Replaying a file always builds the same blocks,
// whose deduplication tokens make a replay after a crash store nothing
// twice.
type spool struct {
	dir string
	seq atomic.Uint64
}

// spooled is an accept record as a spool line.
type spooled struct {
	Time       time.Time `json:"time"`
	TraceID    string    `json:"trace_id"`
	Host       string    `json:"host"`
	QueueID    string    `json:"queue_id"`
	MessageID  string    `json:"message_id"`
	Sender     string    `json:"sender"`
	Recipients []string  `json:"recipients"`
	ClientIP   string    `json:"client_ip"`
	ClientName string    `json:"client_name"`
	Helo       string    `json:"helo"`
	SASLUser   string    `json:"sasl_user"`
	Size       uint64    `json:"size"`
	Class      string    `json:"class"`
	Pool       string    `json:"pool"`
	Subject    string    `json:"subject"`
	FromHeader string    `json:"from_header"`
}

const spoolSuffix = ".jsonl"

func openSpool(dir string) (*spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("milter spool: %w (set milter.spool_dir to a directory mailtrace may write)", err)
	}
	probe, err := os.CreateTemp(dir, ".probe-")
	if err != nil {
		return nil, fmt.Errorf("milter spool %s is not writable: %w", dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return &spool{dir: dir}, nil
}

// write stores a batch as one new file.
func (s *spool) write(batch []*schema.AcceptRecord) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range batch {
		if err := enc.Encode(spooled{Time: r.Time.UTC(), TraceID: traceid.ID(r.TraceID).String(), Host: r.Host, QueueID: r.QueueID,
			MessageID: r.MessageID, Sender: r.Sender, Recipients: r.Recipients, ClientIP: r.ClientIP, ClientName: r.ClientName,
			Helo: r.Helo, SASLUser: r.SASLUser, Size: r.Size, Class: r.Class, Pool: r.Pool, Subject: r.Subject,
			FromHeader: r.FromHeader}); err != nil {
			return err
		}
	}
	name := fmt.Sprintf("accept-%020d-%06d%s", time.Now().UnixNano(), s.seq.Add(1)%1000000, spoolSuffix)
	tmp := filepath.Join(s.dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(s.dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// files lists the spooled batches, oldest first.
func (s *spool) files() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasPrefix(e.Name(), "accept-") && strings.HasSuffix(e.Name(), spoolSuffix) {
			out = append(out, filepath.Join(s.dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// read loads one spooled batch.
func (s *spool) read(path string) ([]*schema.AcceptRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*schema.AcceptRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for n := 1; sc.Scan(); n++ {
		var v spooled
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		id, ok := traceid.Parse(v.TraceID)
		if !ok {
			return nil, fmt.Errorf("%s line %d: trace ID %q", path, n, v.TraceID)
		}
		out = append(out, &schema.AcceptRecord{Time: v.Time, TraceID: id, Host: v.Host, QueueID: v.QueueID,
			MessageID: v.MessageID, Sender: v.Sender, Recipients: v.Recipients, ClientIP: v.ClientIP, ClientName: v.ClientName,
			Helo: v.Helo, SASLUser: v.SASLUser, Size: v.Size, Class: v.Class, Pool: v.Pool, Subject: v.Subject,
			FromHeader: v.FromHeader})
	}
	return out, sc.Err()
}

// setAside renames a file that cannot be read, so that it stops blocking
// the spool but stays for an admin to look at.
func (s *spool) setAside(path string) error {
	return os.Rename(path, strings.TrimSuffix(path, spoolSuffix)+".bad")
}
