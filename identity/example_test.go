package identity_test

import (
	"fmt"
	"time"

	"github.com/guardian-network/guardian/identity"
)

// A sign-in's second factor: the code is accepted once, and the step it
// returns is stored (guardian.UserStore.RecordSignIn) so that the same code
// is refused the second time.
func ExampleTOTPKey_Verify() {
	key, _ := identity.NewTOTPKey([]byte("12345678901234567890")) // RFC 6238's test secret
	at := time.Unix(1111111109, 0)
	code := key.Code(at) // what the person's app shows

	step, ok := key.Verify(code, at.Add(20*time.Second), 0)
	fmt.Println(code, step, ok)
	_, again := key.Verify(code, at.Add(25*time.Second), step)
	fmt.Println(again)
	// Output:
	// 081804 37037036 true
	// false
}

func ExampleLockout_Fail() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	failures, lockedUntil := 0, (*time.Time)(nil)
	for range 5 {
		failures, lockedUntil = identity.DefaultLockout.Fail(failures, lockedUntil, now)
	}
	locked, left := identity.DefaultLockout.Locked(lockedUntil, now)
	fmt.Println(failures, locked, left)
	// Output: 5 true 15m0s
}
