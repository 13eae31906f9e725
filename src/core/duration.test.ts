import { describe, expect, it } from "vitest";
import { parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["168h", 168 * 3_600_000],
    ["1h30m", 5_400_000],
    ["90s", 90_000],
    ["1.5h", 5_400_000],
    ["250ms", 250],
  ])("given %s, then it is %d ms", (text, ms) => {
    expect(parseDuration(text, "--cache-ttl")).toBe(ms);
  });

  it.each(["", "7d", "h", "10", "-1h", "1h x", "0s"])("given %j, then the error names the flag and the value", (text) => {
    expect(() => parseDuration(text, "--cache-ttl")).toThrow(/--cache-ttl/);
  });
});
