import { describe, expect, it } from "vitest";
import { makeRedactor, REDACTED } from "./redact.js";

describe("makeRedactor", () => {
  it("replaces every occurrence of each value", () => {
    const r = makeRedactor(["s3cr3t-token", "hunter22"]);
    expect(r("token=s3cr3t-token and again s3cr3t-token, pw hunter22")).toBe(`token=${REDACTED} and again ${REDACTED}, pw ${REDACTED}`);
  });

  it("redacts the lines of a multi-line value one by one, and values with regex characters", () => {
    const key = "-----BEGIN KEY-----\nAAAAB3NzaC1yc2E+/=\nZZZZ(ab)*\n-----END KEY-----\n";
    const r = makeRedactor([key, "a.b*c"]);
    expect(r("line: AAAAB3NzaC1yc2E+/= and ZZZZ(ab)*")).toBe(`line: ${REDACTED} and ${REDACTED}`);
    expect(r(key)).toBe(REDACTED);
    expect(r("a.b*c axbxc")).toBe(`${REDACTED} axbxc`);
  });

  it("leaves text alone when there is nothing to hide, and ignores values too short to mean anything", () => {
    expect(makeRedactor([])("plain")).toBe("plain");
    expect(makeRedactor(["ab", "\n"])("ab cd")).toBe("ab cd");
  });
});
