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
  causes: [{ type: "Manual", message: "manually started", at: "2026-12-01T10:00:00.000Z" }],
  createdAt: "2026-12-01T10:00:00.000Z",
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
      volumes: [],
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

});

describe("Builds.jobFor, build inputs and the Custom strategy", () => {
  const { builds } = queueRuntime();
  const volumes = [
    { name: "maven", source: { type: "Secret", secret: { secretName: "maven-settings" } }, mounts: [{ destinationPath: "/opt/maven" }, { destinationPath: "/root/.m2" }] },
    { name: "conf", source: { type: "ConfigMap", configMap: { name: "app-conf" } }, mounts: [{ destinationPath: "/etc/app" }] },
  ];

  it("given volumes, build secrets and a sourceSecret, when the job is made, then it names them and holds no value", () => {
    const job = builds.jobFor(
      build,
      config({
        source: { git: { uri: "https://git.example.test/team/web.git", ref: "main" }, sourceSecret: { name: "git-creds" } },
        strategy: { type: "Docker", dockerStrategy: { volumes, buildSecrets: [{ id: "npmrc", secret: { name: "npm" }, key: "token" }, { id: "gpg", secret: { name: "gpg" } }] } },
        imagePolicy: "Enforce",
      }),
    );
    expect(job.source.secret).toEqual({ name: "git-creds" });
    expect(job.imagePolicy).toBe("Enforce");
    expect(job.strategy).toMatchObject({
      volumes: [
        { name: "maven", kind: "Secret", source: "maven-settings", destinationPaths: ["/opt/maven", "/root/.m2"] },
        { name: "conf", kind: "ConfigMap", source: "app-conf", destinationPaths: ["/etc/app"] },
      ],
      buildSecrets: [{ id: "npmrc", secret: "npm", key: "token" }, { id: "gpg", secret: "gpg" }],
    });
    expect(JSON.stringify(job)).not.toMatch(/"data"|"value":"[A-Za-z0-9+/=]{8,}"/);
  });

  it("given a Source strategy with volumes, when the job is made, then they reach its job too", () => {
    const job = builds.jobFor(build, config(source({ volumes: [volumes[1]] })));
    expect(job.strategy).toMatchObject({ volumes: [{ name: "conf", kind: "ConfigMap", source: "app-conf", destinationPaths: ["/etc/app"] }] });
  });

  it("given a Custom strategy, when the job is made, then it carries the builder, env, secrets, push secret and the BUILD object", () => {
    const job = builds.jobFor(
      build,
      config({
        strategy: {
          type: "Custom",
          customStrategy: { from: { kind: "DockerImage", name: `${R}/tools/custom:1` }, env: [{ name: "MODE", value: "release" }], secrets: [{ secretSource: { name: "signing" }, mountPath: "/var/run/signing" }] },
        },
        output: { to: { kind: "DockerImage", name: `${R}/team/web:latest` }, pushSecret: { name: "push-creds" } },
      }),
    );
    expect(job.strategy).toMatchObject({
      type: "Custom",
      from: `${R}/tools/custom:1`,
      env: [{ name: "MODE", value: "release" }, { name: "FROM_HOOK", value: "1" }],
      secrets: [{ secret: "signing", mountPath: "/var/run/signing" }],
      pushSecret: { name: "push-creds" },
    });
    const b = JSON.parse((job.strategy as { buildJson: string }).buildJson);
    expect(b).toMatchObject({ kind: "Build", apiVersion: "build.openshift.io/v1", metadata: { name: "web-2", namespace: "team" }, spec: { revision: { git: { commit: "abc123" } }, strategy: { type: "Custom" } } });
  });

  it("given exposeDockerSocket: true, when the BuildConfig is checked, then it is refused, naming the field", () => {
    const r = checkBuildConfig({
      apiVersion: "build.openshift.io/v1",
      kind: "BuildConfig",
      metadata: { name: "web" },
      spec: {
        source: { git: { uri: "https://git.example.test/team/web.git" } },
        strategy: { type: "Custom", customStrategy: { from: { kind: "DockerImage", name: "x/y" }, exposeDockerSocket: true } },
        output: { to: { kind: "DockerImage", name: `${R}/team/web:latest` } },
      },
    });
    expect(r.ok).toBe(false);
    expect(JSON.stringify(!r.ok && r.errors)).toMatch(/spec\.strategy\.customStrategy\.exposeDockerSocket.*refused/);
  });
});
