package reply

// automaton finds, in one pass over a text, the lowest-numbered pattern
// it contains, ignoring ASCII case. It is an Aho-Corasick automaton turned
// into a full transition table over the alphabet of bytes that occur in
// the patterns (every other byte is one class that leads back to the
// root), so each byte of the text costs two table reads.
type automaton struct {
	class  [256]uint8
	width  int32
	delta  []int32 // state*width + class -> state
	output []int32 // state -> lowest pattern ending here, or none
}

const none = int32(1<<31 - 1)

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func newAutomaton(patterns []string) *automaton {
	a := &automaton{}
	n := 1
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			c := lower(p[i])
			if a.class[c] == 0 {
				a.class[c] = uint8(n)
				n++
			}
		}
	}
	for b := 'A'; b <= 'Z'; b++ {
		a.class[b] = a.class[b+'a'-'A']
	}
	a.width = int32(n)
	// The trie, with -1 for "no edge".
	var edges [][]int32
	newState := func() int32 {
		row := make([]int32, n)
		for i := range row {
			row[i] = -1
		}
		edges = append(edges, row)
		a.output = append(a.output, none)
		return int32(len(edges) - 1)
	}
	newState()
	for id, p := range patterns {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := a.class[p[i]]
			if edges[s][c] < 0 {
				t := newState()
				edges[s][c] = t
			}
			s = edges[s][c]
		}
		a.output[s] = min(a.output[s], int32(id))
	}
	// Breadth first: each state's failure state is already complete when
	// the state is reached, so its missing edges are copied from it.
	fail := make([]int32, len(edges))
	queue := []int32{}
	for c := range n {
		if t := edges[0][c]; t >= 0 {
			queue = append(queue, t)
		} else {
			edges[0][c] = 0
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		a.output[s] = min(a.output[s], a.output[fail[s]])
		for c := range n {
			t := edges[s][c]
			if t < 0 {
				edges[s][c] = edges[fail[s]][c]
				continue
			}
			fail[t] = edges[fail[s]][c]
			queue = append(queue, t)
		}
	}
	a.delta = make([]int32, 0, len(edges)*n)
	for _, row := range edges {
		a.delta = append(a.delta, row...)
	}
	return a
}

// first returns the lowest pattern number found in text, or -1.
func (a *automaton) first(text string) int { return firstIn(a, text) }

// firstIn is first for text as a string or as bytes, without a copy.
func firstIn[T string | []byte](a *automaton, text T) int {
	best, s := none, int32(0)
	for i := 0; i < len(text); i++ {
		s = a.delta[s*a.width+int32(a.class[text[i]])]
		if o := a.output[s]; o < best {
			best = o
			if best == 0 {
				break
			}
		}
	}
	if best == none {
		return -1
	}
	return int(best)
}

// firstNumbers is first on the text with every run of digits read as one
// '#'.
func (a *automaton) firstNumbers(text string) int {
	best, s := none, int32(0)
	hash := int32(a.class['#'])
	for i := 0; i < len(text); i++ {
		c := int32(a.class[text[i]])
		if isDigit(text[i]) {
			if i > 0 && isDigit(text[i-1]) {
				continue
			}
			c = hash
		}
		s = a.delta[s*a.width+c]
		if o := a.output[s]; o < best {
			best = o
			if best == 0 {
				break
			}
		}
	}
	if best == none {
		return -1
	}
	return int(best)
}
