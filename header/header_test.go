package header

import (
	"strings"
	"testing"
)

func TestLower(t *testing.T) {
	for _, tt := range []struct{ name, lower string }{{ID, LowerID}, {Class, LowerClass}, {Pool, LowerPool}} {
		t.Run(tt.name, func(t *testing.T) {
			if strings.ToLower(tt.name) != tt.lower {
				t.Errorf("lowercase of %s is %q, not %q", tt.name, strings.ToLower(tt.name), tt.lower)
			}
		})
	}
}
