package reply

import "strings"

// Phrases finds, in one pass over a text, which of a list of fixed
// phrases it holds, ignoring ASCII case: for readers that look for many
// sentences at once (the mail systems' templates). It is safe for
// concurrent use.
type Phrases struct{ a *automaton }

// NewPhrases compiles a list of phrases.
func NewPhrases(phrases []string) *Phrases {
	low := make([]string, len(phrases))
	for i, p := range phrases {
		low[i] = strings.ToLower(p)
	}
	return &Phrases{newAutomaton(low)}
}

// In returns the index of the first phrase of the list that the text
// holds, or -1.
func (p *Phrases) In(text []byte) int { return firstIn(p.a, text) }
