package handlers

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/api"
)

// flatSeeds are bodies on both sides of what decodeFlat takes.
var flatSeeds = []string{
	`{"secret":"JBSWY3DPEHPK3PXP","token":"123456"}`,
	` { "secret" : "JBSWY3DPEHPK3PXP" ,	"token" : 123456 , "skew" : 1 } ` + "\n",
	`{"secret":"3132","encoding":"hex","token":"0708 1804","digits":8,"period":60,"algorithm":"sha512","after_step":18446744073709551615}`,
	`{}`,
	`{"secret":"a","secret":"b"}`,
	`{"Secret":"a"}`,
	`{"secret":"a\u0062"}`,
	`{"secret":"é"}`,
	`{"token":0}`, `{"token":0123}`, `{"token":-1}`, `{"token":1.5}`, `{"token":1e3}`, `{"token":null}`,
	`{"skew":999999999}`, `{"skew":9999999999}`, `{"after_step":18446744073709551616}`, `{"after_step":99999999999999999999}`,
	`{"digits":"6"}`, `{"secret":6}`, `{"secret":"a"} x`, `{"secret":"a"}}`, `{"secret":"a",}`,
	`{"secret":"a" "token":"1"}`, `{"nested":{}}`, `{"secret":true}`, `[]`, ``, `{`, `{"a`,
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}`,
}

// FuzzDecodeFlat: whatever body decodeFlat takes, encoding/json takes too,
// with the same result, for both request types it knows.
func FuzzDecodeFlat(f *testing.F) {
	for _, s := range flatSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fastVerify, strictVerify api.VerifyRequest
		if decodeFlat(body, &fastVerify) {
			require.Nil(t, decodeStrict(body, &strictVerify), "encoding/json refused what decodeFlat took: %q", body)
			require.Equal(t, strictVerify, fastVerify, "body %q", body)
		}
		var fastToken, strictToken api.TokenRequest
		if decodeFlat(body, &fastToken) {
			require.Nil(t, decodeStrict(body, &strictToken), "encoding/json refused what decodeFlat took: %q", body)
			require.Equal(t, strictToken, fastToken, "body %q", body)
		}
	})
}

// TestDecodeFlatTakesThePlainBodies: the fast path is taken where it
// should be, or it would save nothing.
func TestDecodeFlatTakesThePlainBodies(t *testing.T) {
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"verify", flatSeeds[0], true},
		{"white space and a number token", flatSeeds[1], true},
		{"every field", flatSeeds[2], true},
		{"empty object", `{}`, true},
		{"repeated name", `{"secret":"a","secret":"b"}`, false},
		{"name in another case", `{"Secret":"a"}`, false},
		{"escape", `{"secret":"a\u0062"}`, false},
		{"beyond ASCII", `{"secret":"é"}`, false},
		{"leading zero", `{"token":0123}`, false},
		{"negative", `{"token":-1}`, false},
		{"fraction", `{"token":1.5}`, false},
		{"null", `{"token":null}`, false},
		{"int too long to be sure", `{"skew":9999999999}`, false},
		{"string for a number", `{"digits":"6"}`, false},
		{"number for a string", `{"secret":6}`, false},
		{"unknown field", `{"bogus":"x"}`, false},
		{"trailing data", `{"secret":"a"} x`, false},
		{"trailing comma", `{"secret":"a",}`, false},
		{"too many members", flatSeeds[len(flatSeeds)-1], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r api.VerifyRequest
			assert.Equal(t, tt.want, decodeFlat([]byte(tt.body), &r))
		})
	}
}

func BenchmarkDecodeVerify(b *testing.B) {
	body := []byte(`{"secret":"3132333435363738393031323334353637383930","encoding":"hex","token":"000000","skew":1}`)
	b.Run("flat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r api.VerifyRequest
			if !decodeFlat(body, &r) {
				b.Fatal("not taken")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r api.VerifyRequest
			if p := decodeStrict(body, &r); p != nil {
				b.Fatal(p.Detail)
			}
		}
	})
}
