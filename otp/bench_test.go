package otp_test

import (
	"encoding/base32"
	"strconv"
	"testing"
	"time"

	potp "github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/acme/totp/otp"
)

var benchNow = time.Unix(1_700_000_000, 0)

// BenchmarkVerify measures one verification as a request makes it: build
// the Key from decoded bytes, then check the window.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range otp.Algorithms {
		p := otp.Params{Algorithm: alg, Digits: 6, Period: 30}
		secret := rfcSeeds[alg]
		key, _ := otp.NewKey(secret, p)
		code, _ := key.Generate(benchNow)
		right := code.Token
		for _, skew := range []int{0, 1, 10} {
			for _, tc := range []struct{ name, token string }{{"wrong", "000000"}, {"right", right}} {
				b.Run(string(alg)+"/skew"+strconv.Itoa(skew)+"/"+tc.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						key, err := otp.NewKey(secret, p)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := key.Verify(tc.token, benchNow, otp.Window{Past: skew, Future: skew}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// BenchmarkGenerate measures one code, Key included.
func BenchmarkGenerate(b *testing.B) {
	for _, alg := range otp.Algorithms {
		p := otp.Params{Algorithm: alg, Digits: 6, Period: 30}
		secret := rfcSeeds[alg]
		b.Run(string(alg), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				key, _ := otp.NewKey(secret, p)
				if _, err := key.Generate(benchNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPquerna is the reference: pquerna/otp's per-call path.
func BenchmarkPquerna(b *testing.B) {
	secret := base32.StdEncoding.EncodeToString(rfcSeeds[otp.SHA1])
	opts := totp.ValidateOpts{Period: 30, Skew: 1, Digits: potp.DigitsSix, Algorithm: potp.AlgorithmSHA1}
	b.Run("GenerateCodeCustom", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = totp.GenerateCodeCustom(secret, benchNow, opts)
		}
	})
	b.Run("ValidateCustom/skew1/wrong", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = totp.ValidateCustom("000000", secret, benchNow, opts)
		}
	})
}
