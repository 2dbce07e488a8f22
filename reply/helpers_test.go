package reply

import (
	"os"
	"strings"
)

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o600) }

// asciiContains is strings.Contains on text lowered in ASCII only, as the
// automaton matches.
func asciiContains(lowered, pattern string) bool { return strings.Contains(lowered, pattern) }

func asciiLower(s string) string {
	b := []byte(s)
	for i := range b {
		b[i] = lower(b[i])
	}
	return string(b)
}
