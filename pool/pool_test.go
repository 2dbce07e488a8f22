package pool

import "testing"

func TestSyslog(t *testing.T) {
	tests := []struct {
		name string
		pool Pool
		want string
	}{
		{name: "default from the name", pool: Pool{Name: "legal"}, want: "postfix-legal"},
		{name: "configured", pool: Pool{Name: "legal", SyslogName: "postfix-court"}, want: "postfix-court"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.pool.Syslog(); got != tt.want {
				t.Errorf("Syslog() = %q, want %q", got, tt.want)
			}
		})
	}
}
