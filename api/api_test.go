package api_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/api"
)

func TestToken(t *testing.T) {
	tests := []struct {
		name       string
		give       string // JSON
		wantText   string // Text(8)
		wantNumber bool
		wantJSON   string
	}{
		{"string keeps its zeros", `"07081804"`, "07081804", false, `"07081804"`},
		{"number is padded", `7081804`, "07081804", true, `7081804`},
		{"escaped string", `"0708\u00311804"`, "070811804", false, `"070811804"`},
		{"number too long stays", `123456789`, "123456789", true, `123456789`},
		{"fraction stays as written", `1.5`, "1.5", true, `"1.5"`},
		{"negative stays as written", `-1`, "-1", true, `"-1"`},
		{"null is no token", `null`, "", false, `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tok api.Token
			require.NoError(t, json.Unmarshal([]byte(tt.give), &tok))
			assert.Equal(t, tt.wantText, tok.Text(8))
			assert.Equal(t, tt.wantNumber, tok.IsNumber())
			b, err := json.Marshal(tok)
			require.NoError(t, err)
			assert.Equal(t, tt.wantJSON, string(b))
		})
	}
	for _, bad := range []string{`true`, `{}`, `[]`} {
		var tok api.Token
		err := json.Unmarshal([]byte(bad), &tok)
		assert.True(t, errors.Is(err, api.ErrTokenType), "%s: %v", bad, err)
	}
	assert.Equal(t, "00000042", api.NumberToken(42).Text(8))
	b, err := json.Marshal(api.VerifyRequest{Secret: "S", Token: api.NumberToken(42)})
	require.NoError(t, err)
	assert.JSONEq(t, `{"secret":"S","token":42}`, string(b))
	assert.True(t, api.TokenOf("").IsZero())
}

func TestSecretQueryValues(t *testing.T) {
	assert.Empty(t, api.SecretQuery{}.Values())
	got := api.SecretQuery{Length: 32, Encoding: "hex", Account: "a b", Issuer: "Acme", Algorithm: "SHA256", Digits: 8, Period: 60, QR: 128}.Values()
	assert.Equal(t, "account=a+b&algorithm=SHA256&digits=8&encoding=hex&issuer=Acme&length=32&period=60&qr=128", got.Encode())
}
