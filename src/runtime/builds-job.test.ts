import { describe, expect, it } from "vitest";
import { queueRuntime } from "../../test/support/queue-runtime.js";
import { checkBuildConfig, type BuildConfig } from "../core/buildconfig.js";
import type { Build } from "../core/build.js";

const R = "127.0.0.1:5000";

function config(spec: Record<string, unknown>, annotations?: Record<string, string>): BuildConfig {
  const r = checkBuildConfig({
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name: "web", namespace: "team", ...(annotations ? { annotations } : {}) },
    spec: {
      source: { git: { uri: "https://git.example.test/team/web.git", ref: "main" } },
      output: { to: { kind: "DockerImage", name: `${R}/team/web:latest` } },
      ...spec,
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

const build = {
  id: "web-2",
  namespace: "team",
  buildConfig: "web",
  number: 2,
  phase: "New",
  inputs: { source: { uri: "https://git.example.test/team/web.git", ref: "main", commit: "abc123" } },
  env: [{ name: "FROM_HOOK", value: "1" }],
} as unknown as Build;

const source = (extra: Record<string, unknown> = {}) => ({
  strategy: { type: "Source", sourceStrategy: { from: { kind: "DockerImage", name: `${R}/s2i/shell:latest` }, ...extra } },
});

describe("Builds.jobFor, Source strategy", () => {
  const { builds } = queueRuntime();

  it("given a sourceStrategy, when the job is made, then it names the builder image, env and scripts", () => {
    const job = builds.jobFor(build, config(source({ env: [{ name: "A", value: "1" }], scripts: "image:///opt/s2i" })));
    expect(job.strategy).toEqual({
      type: "Source",
      from: `${R}/s2i/shell:latest`,
      env: [
        { name: "A", value: "1" },
        { name: "FROM_HOOK", value: "1" },
      ],
      scripts: "image:///opt/s2i",
      incremental: false,
      allowedScriptsUrlSchemes: ["image"],
      noCache: false,
    });
  });

  it("given incremental, when there is a previous image, then the job carries it; otherwise not", () => {
    const prev = `${R}/team/web@sha256:${"b".repeat(64)}`;
    expect(builds.jobFor(build, config(source({ incremental: true })), prev).strategy).toMatchObject({ incremental: true, previousImage: prev });
    expect(builds.jobFor(build, config(source({ incremental: true }))).strategy).not.toHaveProperty("previousImage");
    expect(builds.jobFor(build, config(source()), prev).strategy).not.toHaveProperty("previousImage");
  });

  it("given the scripts-schemes annotation, when the job is made, then those schemes are allowed besides image", () => {
    const job = builds.jobFor(build, config(source(), { "cascade/s2i-scripts-url-schemes": "https, file" }));
    expect(job.strategy).toMatchObject({ allowedScriptsUrlSchemes: ["image", "file", "https"] });
  });

  it("given an unknown scheme in the annotation, when the BuildConfig is checked, then the error names the annotation and value", () => {
    const r = checkBuildConfig({
      apiVersion: "build.openshift.io/v1",
      kind: "BuildConfig",
      metadata: { name: "web", annotations: { "cascade/s2i-scripts-url-schemes": "https,ftp" } },
      spec: { ...source(), output: { to: { kind: "DockerImage", name: `${R}/team/web:latest` } } },
    });
    expect(r.ok).toBe(false);
    expect(JSON.stringify(!r.ok && r.errors)).toMatch(/cascade\/s2i-scripts-url-schemes.*\\"ftp\\" is not a scripts URL scheme/);
  });

  it("given a Custom strategy, when the job is made, then the error says it is not supported yet", () => {
    expect(() => builds.jobFor(build, config({ strategy: { type: "Custom", customStrategy: { from: { kind: "DockerImage", name: "x/y" } } } }))).toThrow(
      /spec.strategy.type Custom is not supported/,
    );
  });
});
