/**
 * Webhook authentication: HMAC signatures and shared tokens, always compared
 * in constant time. Pure computation over the raw body bytes.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** `sha256=<hex>` for a body and secret, as GitHub, Gitea and Cascade's own subscribers use. */
export function hmacSha256Hex(secret: string, body: Uint8Array | string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** Constant-time string equality (a length mismatch is also answered in constant time). */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, "utf8");
  const bb = Buffer.from(b, "utf8");
  // Compare against a same-length buffer so that a length mismatch costs the same.
  const same = ab.length === bb.length;
  return timingSafeEqual(ab, same ? bb : ab) && same;
}

/** Verify a `sha256=<hex>` signature header (GitHub's X-Hub-Signature-256). */
export function verifySha256Signature(secret: string, body: Uint8Array | string, header: string | undefined): boolean {
  if (!header || !header.startsWith("sha256=")) return false;
  const expected = `sha256=${hmacSha256Hex(secret, body)}`;
  return constantTimeEqual(expected, header.trim().toLowerCase());
}
