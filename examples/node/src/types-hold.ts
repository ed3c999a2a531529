// Calls the generated types must refuse: `npm run check` fails if any of
// these compiles, because each @ts-expect-error then has no error to expect.
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const totp = createClient<paths>({ baseUrl: "http://localhost:8080" });

export async function refused(): Promise<void> {
  // @ts-expect-error: a verification names its secret (secret, sealed or uri)
  await totp.POST("/verify/token", { body: { token: "123456" } });
  // @ts-expect-error: token is required
  await totp.POST("/verify/token", { body: { secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" } });
  // @ts-expect-error: an empty body is no request
  await totp.POST("/generate/token", { body: {} });
  // @ts-expect-error: digits is a number
  await totp.POST("/generate/token", { body: { secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", digits: "8" } });
  // @ts-expect-error: no such route
  await totp.POST("/verify/tokens", { body: { secret: "x", token: "1" } });
}
