package guard_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/acme/totp/guard"
	"github.com/acme/totp/otp"
)

// BenchmarkVerifyWrongCode is one guarded verification of a wrong code,
// each for another of 100,000 secrets, as a login flood would bring them.
func BenchmarkVerifyWrongCode(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	v := guard.New(guard.Options{Store: guard.NewMemory(0), Key: []byte("bench key"), MaxFailures: 1 << 30, FailureWindow: time.Minute})
	secrets := make([][]byte, 100_000)
	for i := range secrets {
		secrets[i] = make([]byte, 20)
		binary.BigEndian.PutUint64(secrets[i], uint64(i))
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		key, _ := otp.NewKey(secrets[i%len(secrets)], otp.DefaultParams)
		if _, err := v.Verify(ctx, guard.Attempt{Key: &key, Token: "000000", Now: now, Window: otp.Window{Past: 1, Future: 1}}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
