import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nextFreeSubId } from "./builder-user.js";

describe("nextFreeSubId", () => {
  const dir = mkdtempSync(join(tmpdir(), "cascade-subid-"));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  it.each([
    ["empty files", "", "", 100000],
    ["one range", "a:100000:65536\n", "a:100000:65536\n", 165536],
    ["the highest of both files", "a:100000:65536\nb:165536:65536\n", "a:300000:1000\n", 301000],
    ["ranges below the floor", "a:1000:10\n", "", 100000],
  ])("%s", (name, uid, gid, expected) => {
    expect(nextFreeSubId([file(`${name}-u`, uid), file(`${name}-g`, gid)])).toBe(expected);
  });
  it("skips a missing file", () => {
    expect(nextFreeSubId([join(dir, "missing")])).toBe(100000);
  });
});
