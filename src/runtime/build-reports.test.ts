import { describe, expect, it } from "vitest";
import type { BuilderReport } from "../builder/job.js";
import { foldReports } from "./build-reports.js";

describe("foldReports", () => {
  const inputs = { source: { uri: "https://git.example.test/r.git", ref: "main" }, bases: [] };

  it("keeps the commit, bases, outputs, cache steps and image check a builder reported", () => {
    const reports: BuilderReport[] = [
      { type: "source", commit: "abc", author: "A <a@x>", message: "first line\nsecond" },
      { type: "bases", bases: [{ name: "r.example.test/base:1", digest: "sha256:1" }] },
      { type: "cache", repository: "r.example.test/cascade-cache/ns", steps: [{ step: "2/3", instruction: "RUN x", cached: true }] },
      { type: "pushed", image: "r.example.test/ns/app:latest", digest: "sha256:2", tags: ["latest"], unchanged: true },
      { type: "imageCheck", check: { policy: "Warn", image: "r.example.test/ns/app@sha256:2", passed: false, findings: [{ guideline: "non-root-user", message: "root" }] } },
    ];
    const r = foldReports(inputs, reports);
    expect(r.inputs).toEqual({ source: { uri: inputs.source.uri, ref: "main", commit: "abc", author: "A <a@x>", message: "first line" }, bases: [{ name: "r.example.test/base:1", digest: "sha256:1" }] });
    expect(r.outputs).toEqual({ image: "r.example.test/ns/app:latest", digest: "sha256:2", tags: ["latest"], unchanged: true });
    expect(r.cache?.steps[0]?.cached).toBe(true);
    expect(r.imageCheck?.findings[0]?.guideline).toBe("non-root-user");
    expect(r.failure).toBeUndefined();
  });

  it("keeps a push by digest and the failure after it (an image refused by Enforce)", () => {
    const r = foldReports(inputs, [
      { type: "pushed", image: "r.example.test/ns/app:latest", digest: "sha256:3", tags: [] },
      { type: "failed", reason: "ImagePolicyViolation", message: "breaks the guidelines" },
    ]);
    expect(r.outputs?.tags).toEqual([]);
    expect(r.failure).toEqual({ reason: "ImagePolicyViolation", message: "breaks the guidelines" });
    expect(inputs.source).not.toHaveProperty("commit");
  });
});
