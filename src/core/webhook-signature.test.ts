/**
 * Unit tests for webhook authentication, anchored on the test vector that
 * GitHub publishes in "Validating webhook deliveries": secret
 * `It's a Secret to Everybody`, payload `Hello, World!`.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { constantTimeEqual, hmacSha256Hex, verifySha256Signature } from "./webhook-signature.js";

const SECRET = "It's a Secret to Everybody";
const PAYLOAD = "Hello, World!";
const DIGEST = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
const HEADER = `sha256=${DIGEST}`;
const SHA1_HEADER = `sha1=${createHmac("sha1", SECRET).update(PAYLOAD).digest("hex")}`;

describe("hmacSha256Hex", () => {
  it.each([
    ["a string body", PAYLOAD],
    ["a Buffer body", Buffer.from(PAYLOAD, "utf8")],
    ["a Uint8Array body", new TextEncoder().encode(PAYLOAD)],
  ])("gives GitHub's documented digest for %s", (_what, body) => {
    expect(hmacSha256Hex(SECRET, body)).toBe(DIGEST);
  });

  it("hashes a string body as UTF-8", () => {
    const body = '{"ref":"refs/heads/caf\u00e9"}';
    expect(hmacSha256Hex("k", body)).toBe(hmacSha256Hex("k", Buffer.from(body, "utf8")));
  });
});

describe("verifySha256Signature", () => {
  it.each([
    // [what, secret, body, header, verified]
    ["GitHub's documented vector", SECRET, PAYLOAD, HEADER, true],
    ["the vector over the raw bytes", SECRET, Buffer.from(PAYLOAD), HEADER, true],
    ["the vector with uppercase hex digits", SECRET, PAYLOAD, `sha256=${DIGEST.toUpperCase()}`, true],
    ["a wrong secret", "It's a secret to everybody", PAYLOAD, HEADER, false],
    ["an empty secret", "", PAYLOAD, HEADER, false],
    ["a changed body", SECRET, "Hello, World?", HEADER, false],
    ["a body with a trailing newline", SECRET, `${PAYLOAD}\n`, HEADER, false],
    ["the body re-serialised (whitespace differs)", SECRET, '{"a": 1}', `sha256=${hmacSha256Hex(SECRET, '{"a":1}')}`, false],
    ["a missing header", SECRET, PAYLOAD, undefined, false],
    ["an empty header", SECRET, PAYLOAD, "", false],
    ["the sha1= header GitHub also sends (X-Hub-Signature)", SECRET, PAYLOAD, SHA1_HEADER, false],
    ["the right digest under a sha1= prefix", SECRET, PAYLOAD, `sha1=${DIGEST}`, false],
    ["the digest without a prefix", SECRET, PAYLOAD, DIGEST, false],
    ["an uppercase SHA256= prefix", SECRET, PAYLOAD, `SHA256=${DIGEST}`, false],
    ["a prefix with no digest", SECRET, PAYLOAD, "sha256=", false],
    ["a digest one character short", SECRET, PAYLOAD, HEADER.slice(0, -1), false],
    ["half a digest", SECRET, PAYLOAD, HEADER.slice(0, "sha256=".length + 32), false],
    ["a digest with one character more", SECRET, PAYLOAD, `${HEADER}0`, false],
    ["the digest twice", SECRET, PAYLOAD, `${HEADER}${DIGEST}`, false],
    ["the last hex digit changed", SECRET, PAYLOAD, `${HEADER.slice(0, -1)}8`, false],
    ["the digest base64-encoded", SECRET, PAYLOAD, `sha256=${Buffer.from(DIGEST, "hex").toString("base64")}`, false],
  ])("%s -> %s", (_what, secret, body, header, verified) => {
    expect(verifySha256Signature(secret, body, header)).toBe(verified);
  });

  it("verifies what hmacSha256Hex signs, for any body", () => {
    for (const body of ["", "{}", "x".repeat(10_000), "\u00e9\u4e2d\u{1f600}"]) {
      expect(verifySha256Signature("s3cr3t", body, `sha256=${hmacSha256Hex("s3cr3t", body)}`)).toBe(true);
      expect(verifySha256Signature("s3cr3t", body, `sha256=${hmacSha256Hex("other", body)}`)).toBe(false);
    }
  });
});

describe("constantTimeEqual", () => {
  it.each([
    // [a, b, equal]
    ["s3cr3t", "s3cr3t", true],
    ["", "", true],
    ["\u00e9", "\u00e9", true],
    ["s3cr3t", "s3cr3T", false],
    ["s3cr3t", "S3CR3T", false],
    ["s3cr3t", "s3cr3", false],
    ["s3cr3", "s3cr3t", false],
    ["s3cr3t", "s3cr3t ", false],
    ["", "a", false],
    ["a", "", false],
    // Same number of UTF-16 units, different UTF-8 byte lengths.
    ["\u00e9", "e", false],
    // NFC and NFD spellings of one character are different strings.
    ["\u00e9", "e\u0301", false],
    ["a".repeat(1000), "a".repeat(1000), true],
    ["a".repeat(1000), `${"a".repeat(999)}b`, false],
    [HEADER, HEADER, true],
    [HEADER, SHA1_HEADER, false],
  ])("%j vs %j -> %s", (a, b, equal) => {
    expect(constantTimeEqual(a, b)).toBe(equal);
    expect(constantTimeEqual(b, a)).toBe(equal);
  });
});
