package traceid_test

import (
	"fmt"
	"time"

	"github.com/mailtrace/mailtrace/traceid"
)

// A trace ID read back from a header or a bounce report: the canonical
// form in either case is accepted, anything else is refused. A version 7
// ID tells when it was made.
func ExampleParse() {
	id, ok := traceid.Parse("0190C7A2-9B1D-7ABC-8ABC-0123456789AB")
	fmt.Println(id, ok)
	fmt.Println(id.Time())
	_, ok = traceid.Parse("0190c7a29b1d7abc8abc0123456789ab")
	fmt.Println(ok)
	// Output:
	// 0190c7a2-9b1d-7abc-8abc-0123456789ab true
	// 2024-07-18 20:57:20.925 +0000 UTC
	// false
}

// IDs made one after the other sort in the order they were made, by
// their text form too.
func ExampleNew() {
	a := traceid.New()
	b := traceid.New()
	fmt.Println(a.String() < b.String(), time.Since(a.Time()) < time.Minute)
	// Output: true true
}
