package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// A block that ClickHouse rejects for its content (a value it cannot parse,
// a column that does not match) fails the same way on every retry. Retrying
// it forever would stall everything behind it; dropping it would lose
// accepted rows. With a dead-letter directory, such a block is written there
// after a few attempts, with the error beside it, and the writer moves on.
// The file is a Native block: after fixing the cause, load it with
//
//	clickhouse-client --query "INSERT INTO mailtrace.TABLE FORMAT Native" < FILE

// rejectedCodes are ClickHouse error codes that mean "this data will never
// be accepted as it is", as opposed to an unavailable or busy server.
var rejectedCodes = map[int]bool{
	6:   true, // CANNOT_PARSE_TEXT
	16:  true, // NO_SUCH_COLUMN_IN_TABLE
	27:  true, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
	33:  true, // CANNOT_READ_ALL_DATA
	38:  true, // CANNOT_PARSE_DATE
	41:  true, // CANNOT_PARSE_DATETIME
	53:  true, // TYPE_MISMATCH
	69:  true, // ARGUMENT_OUT_OF_BOUND
	70:  true, // CANNOT_CONVERT_TYPE
	72:  true, // CANNOT_PARSE_NUMBER
	117: true, // INCORRECT_DATA
	131: true, // TOO_LARGE_STRING_SIZE
}

var codePattern = regexp.MustCompile(`Code: (\d+)\.`)

// errRejected marks errors of the data itself, found before the server.
var errRejected = errors.New("block rejected")

// rejected tells whether err means the block's content is refused.
func rejected(err error) bool {
	if errors.Is(err, errRejected) {
		return true
	}
	m := codePattern.FindStringSubmatch(err.Error())
	if m == nil {
		return false
	}
	code, _ := strconv.Atoi(m[1])
	return rejectedCodes[code]
}

// deadLetter writes b and its error to dir.
func deadLetter(dir string, b *NativeBlock, cause error) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	base := filepath.Join(dir, fmt.Sprintf("%s-%s-%s", b.Table.Name, time.Now().UTC().Format("20060102T150405Z"), b.Token))
	if err := writeFileSync(base+".native", b.Data); err != nil {
		return "", err
	}
	note := fmt.Sprintf("table: %s\nrows: %d\ntoken: %s\nerror: %v\n", b.Table.Name, b.Rows, b.Token, cause)
	if err := writeFileSync(base+".error", []byte(note)); err != nil {
		return "", err
	}
	return base + ".native", nil
}

// writeFileSync writes a file and syncs it, so that a crash right after
// does not lose what the writer then forgets.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}
