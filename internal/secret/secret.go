// Package secret reads the secrets mailtrace is given in files: the VERP
// keys (milter.verp.keys[].secret_file), the API tokens (api.tokens[].file)
// and the incident webhook's key (blocks.webhook.secret_file). One rule
// for all of them: the file must not be open to group or others, its
// trailing line ending is not part of the secret, and it must not be empty.
package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrExposed means a secret file grants group or others some access.
var ErrExposed = errors.New("secret: file open to group or others")

// ErrEmpty means a secret file holds no secret.
var ErrEmpty = errors.New("secret: file is empty")

// maxSize bounds a secret file: keys and tokens are short, and a large
// file named by mistake (a log) is not read whole.
const maxSize = 64 << 10

// ReadFile returns the secret in the file at path, without its trailing
// line endings (\n or \r\n, as editors and echo leave them). It refuses a
// file whose mode gives group or others any access, an empty one, and one
// over 64 KiB, with an error that names the file and says what to do.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret file %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secret file %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; make it readable by its owner only: chmod 600 %s", ErrExposed, path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("secret file %s: %w", path, err)
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("secret file %s: larger than %d bytes; name the file that holds only the secret", path, maxSize)
	}
	data = bytes.TrimRight(data, "\r\n")
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: %s; write the secret into it (for a new key: head -c 32 /dev/urandom | base64 > %s)", ErrEmpty, path, path)
	}
	return data, nil
}
