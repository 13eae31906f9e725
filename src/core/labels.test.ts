import { describe, expect, it } from "vitest";
import { buildEnv, buildLabels, type LabelInput } from "./labels.js";

const base: LabelInput = {
  namespace: "team",
  sourceUri: "https://git.example.test/team/web.git",
  contextDir: "app",
  commit: { id: "abc123", ref: "main", author: "Ada <ada@example.test>", date: "2026-01-02T03:04:05Z", message: "Fix bug\n\nlong body" },
  base: { name: "docker.io/library/node:20", digest: "sha256:" + "a".repeat(64) },
  image: "127.0.0.1:5000/team/web:latest",
  strategy: "Docker",
};

describe("buildLabels", () => {
  it.each([
    ["io.openshift.build.commit.id", "abc123"],
    ["io.openshift.build.commit.ref", "main"],
    ["io.openshift.build.commit.message", "Fix bug"],
    ["io.openshift.build.source-location", "https://git.example.test/team/web.git"],
    ["io.openshift.build.source-context-dir", "app"],
    ["io.openshift.build.namespace", "team"],
    ["org.opencontainers.image.revision", "abc123"],
    ["org.opencontainers.image.base.name", "docker.io/library/node:20"],
    ["org.opencontainers.image.base.digest", "sha256:" + "a".repeat(64)],
    // S2I's meaning: the image the build ran on (the builder, or the last base), not the output.
    ["io.openshift.build.image", "docker.io/library/node:20"],
  ])("sets %s", (key, value) => {
    expect(new Map(buildLabels(base)).get(key)).toBe(value);
  });

  it("is sorted by key, so output is byte-stable", () => {
    const keys = buildLabels(base).map(([k]) => k);
    expect(keys).toEqual([...keys].sort());
  });

  it("lets imageLabels override computed labels", () => {
    const m = new Map(buildLabels({ ...base, imageLabels: [{ name: "io.openshift.build.commit.ref", value: "x" }, { name: "team", value: "a" }] }));
    expect(m.get("io.openshift.build.commit.ref")).toBe("x");
    expect(m.get("team")).toBe("a");
  });

  it("writes no per-build value (the build's name), so that the same inputs give the same labels", () => {
    const m = new Map(buildLabels(base));
    expect(m.has("io.openshift.build.name")).toBe(false);
    expect([...m.values()].some((v) => v.includes("web-3"))).toBe(false);
  });

  it("omits Docker-only labels for other strategies and empty values", () => {
    const m = new Map(buildLabels({ ...base, strategy: "Source", contextDir: "", commit: undefined }));
    expect(m.has("io.openshift.build.namespace")).toBe(false);
    expect(m.has("io.openshift.build.source-context-dir")).toBe(false);
    expect(m.has("org.opencontainers.image.revision")).toBe(false);
  });
});

describe("buildEnv", () => {
  it("names the namespace, source, ref and commit, not the build", () => {
    expect(buildEnv({ namespace: "team", sourceUri: "u", ref: "main", commit: "abc" })).toEqual([
      ["OPENSHIFT_BUILD_NAMESPACE", "team"],
      ["OPENSHIFT_BUILD_SOURCE", "u"],
      ["OPENSHIFT_BUILD_REFERENCE", "main"],
      ["OPENSHIFT_BUILD_COMMIT", "abc"],
    ]);
  });
});
