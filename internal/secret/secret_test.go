package secret

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
		wantErr error  // errors.Is target, nil: any error when errText is set
		errText string // the error must say this
	}{
		{name: "trailing newline trimmed", content: "s3cret-key\n", mode: 0o600, want: "s3cret-key"},
		{name: "CRLF trimmed", content: "s3cret-key\r\n", mode: 0o400, want: "s3cret-key"},
		{name: "inner and leading spaces kept", content: " a b \n", mode: 0o600, want: " a b "},
		{name: "no newline", content: "s3cret-key", mode: 0o600, want: "s3cret-key"},
		{name: "group readable refused", content: "s3cret-key\n", mode: 0o640, wantErr: ErrExposed, errText: "chmod 600"},
		{name: "world readable refused", content: "s3cret-key\n", mode: 0o644, wantErr: ErrExposed, errText: "mode 0644"},
		{name: "group writable refused", content: "s3cret-key\n", mode: 0o620, wantErr: ErrExposed},
		{name: "empty refused", content: "\n", mode: 0o600, wantErr: ErrEmpty, errText: "write the secret"},
		{name: "large refused", content: strings.Repeat("x", maxSize+1), mode: 0o600, errText: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path)
			if tt.wantErr == nil && tt.errText == "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("ReadFile = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadFile = %q, want an error", got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error %q does not name the file and say %q", err, tt.errText)
			}
		})
	}
	t.Run("missing file named", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "none")
		if _, err := ReadFile(path); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v: want not-exist naming %s", err, path)
		}
	})
}
