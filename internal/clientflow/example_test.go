package clientflow_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/acme/totp/client"
	"github.com/acme/totp/client/api"
)

// authenticator stands in for the user's phone: it reads the code the
// secret shows now.
func authenticator(c *client.Client, secret string) string {
	tok, _ := c.GenerateToken(context.Background(), api.TokenRequest{SecretForm: api.Clear(secret)})
	return tok.Token
}

// A register service enrols a user: a new secret with its QR code for the
// authenticator app, then a first code to prove the app has it. It stores
// the secret and the step.
func Example_signUp() {
	srv := newService(time.Unix(1_700_000_000, 0)) // the TOTP service
	defer srv.Close()
	ctx := context.Background()
	c, _ := client.New(srv.URL)

	sec, err := c.GenerateSecret(ctx, api.SecretQuery{Account: "alice@example.com", Issuer: "Acme", QR: 256})
	if err != nil {
		panic(err)
	}
	// Show sec.QR (a data: URI) to Alice; she types what her app shows.
	code := authenticator(c, sec.Secret)
	res, err := c.VerifyToken(ctx, api.VerifyRequest{SecretForm: api.Clear(sec.Secret), Token: api.TokenOf(code)})
	if err != nil {
		panic(err)
	}
	fmt.Println("enrolled:", res.Valid)
	// Store sec.Secret and *res.Step with Alice's account.
	// Output: enrolled: true
}

// A login service checks the code Alice typed, sending the step it stored
// last time so that no code is accepted twice even without the guard.
func Example_login() {
	srv := newService(time.Unix(1_700_000_000, 0)) // the TOTP service
	defer srv.Close()
	ctx := context.Background()
	c, _ := client.New(srv.URL)
	secret, lastStep := "JBSWY3DPEHPK3PXP", uint64(56666665) // from Alice's account

	res, err := c.VerifyToken(ctx, api.VerifyRequest{SecretForm: api.Clear(secret), Token: api.TokenOf(authenticator(c, secret)), AfterStep: &lastStep})
	if err != nil {
		panic(err)
	}
	fmt.Println("logged in:", res.Valid)

	res, _ = c.VerifyToken(ctx, api.VerifyRequest{SecretForm: api.Clear(secret), Token: api.TokenOf("000000"), AfterStep: res.Step})
	fmt.Println("wrong code:", res.Valid, res.Reason)
	// Output:
	// logged in: true
	// wrong code: false mismatch
}

// A register service and a login service that store nothing usable: the
// user's row holds the sealed secret and its key ID, bound to the user's
// ID, and the plain secret is shown once, to the authenticator app.
func Example_sealedSecrets() {
	srv := newService(time.Unix(1_700_000_000, 0)) // the TOTP service, with SEAL_KEYS
	defer srv.Close()
	ctx := context.Background()
	c, _ := client.New(srv.URL)
	userID := "user-42"

	// Sign-up.
	sec, err := c.GenerateSecret(ctx, api.SecretQuery{Account: "alice@example.com", Issuer: "Acme", QR: 256, Seal: true, Context: userID})
	if err != nil {
		panic(err)
	}
	// Show sec.QR to Alice; store only sec.Sealed and sec.KeyID in her row.
	phone := sec.Secret // her app has it; the services forget it
	stored := sec.Sealed
	res, err := c.VerifyToken(ctx, api.VerifyRequest{SecretForm: api.SealedBy(stored, userID), Token: api.TokenOf(authenticator(c, phone))})
	if err != nil {
		panic(err)
	}
	fmt.Println("enrolled:", res.Valid)

	// Login, from the row alone.
	res, _ = c.VerifyToken(ctx, api.VerifyRequest{SecretForm: api.SealedBy(stored, userID), Token: api.TokenOf("000000"), AfterStep: res.Step})
	fmt.Println("wrong code:", res.Valid, res.Reason)

	// The row copied to another user does not open.
	_, err = c.VerifyToken(ctx, api.VerifyRequest{SecretForm: api.SealedBy(stored, "user-43"), Token: api.TokenOf("000000")})
	var problem *client.Error
	if errors.As(err, &problem) {
		fmt.Println("copied:", problem.Status, problem.Code)
	}
	// Output:
	// enrolled: true
	// wrong code: false mismatch
	// copied: 400 invalid_sealed
}
