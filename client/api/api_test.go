package api_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/acme/totp/client/api"
)

// The client module needs only the standard library, its tests included.

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
			if err := json.Unmarshal([]byte(tt.give), &tok); err != nil {
				t.Fatal(err)
			}
			if got := tok.Text(8); got != tt.wantText {
				t.Errorf("Text(8) = %q, want %q", got, tt.wantText)
			}
			if tok.IsNumber() != tt.wantNumber {
				t.Errorf("IsNumber() = %v", tok.IsNumber())
			}
			b, err := json.Marshal(tok)
			if err != nil || string(b) != tt.wantJSON {
				t.Errorf("Marshal = %s, %v; want %s", b, err, tt.wantJSON)
			}
		})
	}
	for _, bad := range []string{`true`, `{}`, `[]`} {
		var tok api.Token
		if err := json.Unmarshal([]byte(bad), &tok); !errors.Is(err, api.ErrTokenType) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if got := api.NumberToken(42).Text(8); got != "00000042" {
		t.Errorf("NumberToken(42).Text(8) = %q", got)
	}
	b, err := json.Marshal(api.VerifyRequest{SecretForm: api.Clear("S"), Token: api.NumberToken(42)})
	if err != nil || string(b) != `{"secret":"S","token":42}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	if !api.TokenOf("").IsZero() {
		t.Error("TokenOf(\"\") is not zero")
	}
}

func TestSecretQueryValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    api.SecretQuery
		want string
	}{
		{"zero", api.SecretQuery{}, ""},
		{"every TOTP option", api.SecretQuery{Length: 32, Encoding: "hex", Account: "a b", Issuer: "Acme", Algorithm: "SHA256", Digits: 8, Period: 60, QR: 128},
			"account=a+b&algorithm=SHA256&digits=8&encoding=hex&issuer=Acme&length=32&period=60&qr=128"},
		{"hotp at counter 0", api.SecretQuery{Type: "hotp"}, "counter=0&type=hotp"},
		{"sealed, bound to a user", api.SecretQuery{Seal: true, Context: "user-42"}, "context=user-42&seal=true"},
	} {
		if got := tc.q.Values().Encode(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
