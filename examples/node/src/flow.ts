// A Node sign-up and login service, as the services this one replaces
// were: every call is typed from docs/openapi.json (openapi-typescript)
// and made with openapi-fetch. It stores nothing but the sealed secret,
// bound to the user's ID, as client/Example_sealedSecrets does in Go.
//
//   TOTP_URL=http://localhost:8080 npm run flow   (the service with SEAL_KEYS)
import { strict as assert } from "node:assert";
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const totp = createClient<paths>({ baseUrl: process.env.TOTP_URL ?? "http://localhost:8080" });

// The user's authenticator app, which holds the plain secret.
async function authenticator(secret: string): Promise<string> {
  const { data, error } = await totp.POST("/generate/token", { body: { secret } });
  assert.equal(error, undefined);
  return data!.token;
}

const userID = `user-${Date.now()}`;

// Sign-up: a new secret, its QR code for the app, and the sealed secret,
// which is all the user's row keeps.
const { data: enrol, error: enrolError } = await totp.GET("/generate/secret", {
  params: { query: { account: "alice@example.com", issuer: "Acme", qr: 256, seal: true, context: userID } },
});
assert.equal(enrolError, undefined, JSON.stringify(enrolError));
assert.ok(enrol!.qr?.startsWith("data:image/png;base64,"));
const sealed = enrol!.sealed;
assert.ok(sealed, "seal=true answers the sealed secret");
const row = { sealed, keyID: enrol!.key_id, lastStep: 0 };
const phone = enrol!.secret; // shown once, then forgotten by every service

// The first code proves the app has the secret.
const code = await authenticator(phone);
const { data: first } = await totp.POST("/verify/token", { body: { sealed: row.sealed, context: userID, token: code } });
assert.equal(first!.valid, true, JSON.stringify(first));
row.lastStep = first!.step!;
console.log(`enrolled ${userID} under key ${row.keyID}, step ${row.lastStep}`);

// Login with the same code again: refused, by the guard and by after_step.
const { data: again } = await totp.POST("/verify/token", {
  body: { sealed: row.sealed, context: userID, token: code, after_step: row.lastStep },
});
assert.equal(again!.valid, false);
assert.ok(again!.reason === "replayed" || again!.reason === "stale", again!.reason);
console.log(`the same code again: ${again!.reason}`);

// A wrong code.
const { data: wrong } = await totp.POST("/verify/token", { body: { sealed: row.sealed, context: userID, token: "000000" } });
assert.equal(wrong!.valid, false);
console.log(`a wrong code: ${wrong!.reason}`);

// The row copied to another user: a typed problem, invalid_sealed.
const { error: copied, response } = await totp.POST("/verify/token", {
  body: { sealed: row.sealed, context: "someone-else", token: code },
});
assert.equal(response.status, 400);
assert.equal(response.headers.get("content-type"), "application/problem+json");
assert.equal(copied?.code, "invalid_sealed");
assert.equal(copied?.field, "sealed");
console.log(`the row under another user's ID: ${response.status} ${copied?.code}`);

// "Remember this device": the token goes in the device's cookie; the next
// sign-in checks it (and gets it refreshed); raising the user's epoch
// signs every device out.
const device = `d-${Date.now()}`;
const { data: trusted, response: trustResponse } = await totp.POST("/trust", { body: { subject: userID, device, epoch: 1 } });
if (trustResponse.status === 501) {
  console.log("trusted devices: trust_not_configured (no TRUST_KEYS)");
} else {
  const { data: next } = await totp.POST("/trust/verify", { body: { token: trusted!.token, subject: userID, device, epoch: 1 } });
  assert.equal(next!.valid, true, JSON.stringify(next));
  const { data: out } = await totp.POST("/trust/verify", { body: { token: next!.token!, subject: userID, device, epoch: 2 } });
  assert.equal(out!.reason, "revoked");
  console.log(`remembered ${device} until ${next!.expires_at}; after sign-out everywhere: ${out!.reason}`);
}

// Login by email, when the service sends the code itself (SMTP_URL): the
// answer holds no code, only where it went; a resend at once must wait.
const { data: emailed, error: emailError, response: emailResponse } = await totp.POST("/challenge", {
  body: { subject: `${userID}@example.com`, purpose: "login", channel: "email" },
});
if (emailResponse.status === 501) {
  console.log(`email codes: ${emailError?.code} (no SMTP_URL)`);
} else {
  assert.equal(emailError, undefined, JSON.stringify(emailError));
  assert.equal(emailed!.code, undefined, "the service sent the code; the answer has none");
  assert.equal(emailed!.delivery?.status, "sent");
  const { error: soon, response: soonResponse } = await totp.POST("/challenge/resend", {
    body: { challenge: emailed!.challenge, subject: `${userID}@example.com`, purpose: "login" },
  });
  assert.equal(soonResponse.status, 429);
  assert.equal(soon?.code, "too_many_sends");
  console.log(`emailed to ${emailed!.delivery?.to}; a resend at once: ${soon?.code}, retry after ${soonResponse.headers.get("retry-after")} s`);
}

// Rotation: reseal under the key that seals now.
const { data: resealed } = await totp.POST("/reseal", { body: { sealed: row.sealed, context: userID } });
assert.equal(resealed!.rotated, false);
console.log("node flow passed");
