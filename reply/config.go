package reply

// Config is the classify section of mailtrace.yaml.
type Config struct {
	// RulesFile replaces the shipped rules (reply/rules.yaml) with a file
	// of the same format.
	RulesFile string `yaml:"rules_file"`
	// Providers are tried before the rules' own: in-house or regional
	// providers, or gateways that front a domain's mailboxes.
	Providers []Provider `yaml:"providers"`
}

// Classifier compiles the configured rules.
func (c Config) Classifier() (*Classifier, error) {
	r, err := LoadRules(c.RulesFile)
	if err != nil {
		return nil, err
	}
	return New(r, c.Providers)
}
