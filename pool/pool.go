// Package pool is the dedicated-IP pool, as configured (the pools section
// of mailtrace.yaml) and as every part that needs one sees it: the
// generated Postfix configuration, the collector (which tells a pool's
// deliveries by their syslog name), sender-authentication checks and the
// reports intake (which tell our own sources by their IP).
package pool

// Pool is one dedicated-IP pool: a Postfix transport smtp-NAME bound to
// SourceIP, greeting as HeloName and logging as SyslogName.
type Pool struct {
	Name       string `yaml:"name" json:"name"`
	SyslogName string `yaml:"syslog_name" json:"syslog_name"` // e.g. postfix-legal; default postfix-NAME (see Syslog)
	SourceIP   string `yaml:"source_ip" json:"source_ip"`     // its smtp_bind_address
	// HeloName is the name its transport greets receivers with (its
	// smtp_helo_name); it should match the source IP's reverse DNS.
	HeloName string `yaml:"helo_name" json:"helo_name"`
}

// Syslog is the syslog name the pool's transport logs under: SyslogName,
// or postfix-NAME when it is not set.
func (p Pool) Syslog() string {
	if p.SyslogName != "" {
		return p.SyslogName
	}
	return "postfix-" + p.Name
}
