package verp_test

import (
	"fmt"

	"github.com/mailtrace/mailtrace/traceid"
	"github.com/mailtrace/mailtrace/verp"
)

// A message of a class that leaves through the legal pool gets a return
// path naming the pool, which Postfix routes by; reading it back gives
// the trace ID and the pool. The form without a pool still verifies.
func ExampleSigner_PoolAddress() {
	s, err := verp.New("mt", "bounces.example.com", []verp.Key{{ID: 1, Secret: []byte("an example secret of enough bytes")}})
	if err != nil {
		panic(err)
	}
	id, _ := traceid.Parse("01900000-0000-7000-8000-000000000001")
	addr := s.PoolAddress(id, "legal")
	fmt.Println(addr)
	got, pool, err := s.ParsePool(addr)
	fmt.Println(got, pool, err)
	got, pool, err = s.ParsePool(s.Address(id))
	fmt.Println(got, pool == "", err)
	fmt.Println(s.Routing("legal"))
	// Output:
	// mt-legal-aiaqdeaaaaaaa4aaqaaaaaaaaaaadqtmplvehbiuvlpos@bounces.example.com
	// 01900000-0000-7000-8000-000000000001 legal <nil>
	// 01900000-0000-7000-8000-000000000001 true <nil>
	// /^mt-legal-.*@bounces\.example\.com$/
}
