/**
 * The Source (S2I) strategy on real parts: a builder image made from the
 * busybox base (scripts, labels, USER 1001) is built through Cascade, then an
 * app's source becomes an image with it. The image's `run` prints the app's
 * output rootless; an incremental rebuild restores the dependencies the first
 * build saved; `.s2i/bin/assemble` in the source wins over the image's; a
 * newline in an env value stays a value; a builder that would assemble as root
 * is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { commitFiles, push } from "../src/adapters/local/git-repo.js";
import { createDistributionClient } from "../src/adapters/registry/distribution-client.js";
import { runImage } from "../src/adapters/local/run-image.js";
import { s2iAppFiles, s2iBuilderFiles } from "../src/cli/s2i-sample.js";
import type { Build } from "../src/core/build.js";
import { buildBaseImage, startStack, type Stack } from "./support/stack.js";

const NS = "s2i";
const SECRET = "s2i-secret";

describe("S2I builds", () => {
  let stack: Stack;
  let builder: string;
  let rootBuilder: string;
  let app: { bare: string; work: string };
  const client = () => {
    const { username, password } = stack.app.registry.credentials;
    return createDistributionClient({ credentialsFor: () => ({ username, password }) });
  };
  const run = (image: string, command: string[]) =>
    runImage({
      identity: stack.app.identity,
      image,
      command,
      auth: { [stack.registry]: stack.app.registry.credentials },
      insecure: [stack.registry],
    });
  const log = (b: Build) => readFileSync(b.logPath!, "utf8");
  const seconds = (b: Build) => (Date.parse(b.completedAt!) - Date.parse(b.startedAt!)) / 1000;
  const s2iConfig = (name: string, repo: string, from: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name, namespace: NS },
    spec: {
      source: { git: { uri: repo, ref: "main" } },
      strategy: { type: "Source", sourceStrategy: { from: { kind: "DockerImage", name: from }, ...extra } },
      output: { to: { kind: "DockerImage", name: `${stack.registry}/${NS}/${name}:latest` } },
      triggers: [{ type: "GitHub", github: { secret: SECRET } }],
    },
  });

  beforeAll(async () => {
    stack = await startStack();
    const base = await buildBaseImage(stack);
    // The builder image and a variant whose assemble-user label says root, from one repository.
    const repo = stack.repo("shell-builder", SECRET);
    builder = `${stack.registry}/${NS}/shell-builder:latest`;
    rootBuilder = `${stack.registry}/${NS}/root-builder:latest`;
    const docker = (name: string, image: string, imageLabels: { name: string; value: string }[] = []) => ({
      apiVersion: "build.openshift.io/v1",
      kind: "BuildConfig",
      metadata: { name, namespace: NS },
      spec: {
        source: { git: { uri: repo.bare, ref: "main" } },
        strategy: { type: "Docker", dockerStrategy: {} },
        output: { to: { kind: "DockerImage", name: image }, imageLabels },
        triggers: [{ type: "GitHub", github: { secret: SECRET } }],
      },
    });
    await stack.apply([
      docker("shell-builder", builder),
      docker("root-builder", rootBuilder, [{ name: "io.openshift.s2i.assemble-user", value: "0" }]),
    ]);
    commitFiles(repo.work, s2iBuilderFiles(base), "shell builder image");
    await push(repo.work);
    for (const name of ["shell-builder", "root-builder"]) {
      const b = await stack.latestBuild(NS, name);
      if (b.phase !== "Complete") throw new Error(`${name} build ${b.phase}: ${b.message}\n${log(b)}`);
    }
    app = stack.repo("s2i-app", SECRET);
    await stack.apply([
      s2iConfig("web", app.bare, builder, {
        incremental: true,
        env: [{ name: "NOTE", value: 'line one\nRUN ["/bin/touch", "/tmp/injected"]\nLABEL injected="yes"' }],
      }),
    ]);
  }, 240_000);
  afterAll(async () => {
    await stack?.close();
  });

  let first: Build;

  it("builds source into an image whose run script prints the app's output, rootless, with provenance labels", async () => {
    const commit = commitFiles(app.work, { ...s2iAppFiles("first version"), "deps.txt": "libgreeting\nlibformat\n" }, "s2i app");
    await push(app.work);
    first = await stack.latestBuild(NS, "web");
    expect(first.phase, `${first.message}\n${log(first)}`).toBe("Complete");
    expect(first.inputs.source?.commit).toBe(commit);
    expect(first.inputs.bases?.map((b) => b.name)).toEqual([builder]);
    const text = log(first);
    expect(text).toContain("--> Generated Dockerfile (S2I):");
    expect(text).toContain("Dependency libgreeting: installing (slow)");

    const image = `${stack.registry}/${NS}/web@${first.outputs!.digest}`;
    const config = await client().getImageConfig(image);
    expect(config.config?.Cmd).toEqual(["/usr/libexec/s2i/run"]);
    expect(config.config?.User).toBe("1001");
    const labels = config.config?.Labels ?? {};
    expect(labels["io.openshift.build.commit.id"]).toBe(commit);
    expect(labels["io.openshift.build.source-location"]).toBe(app.bare);
    expect(labels["org.opencontainers.image.revision"]).toBe(commit);
    expect(labels["org.opencontainers.image.source"]).toBe(app.bare);
    expect(labels["org.opencontainers.image.base.digest"]).toBe(first.inputs.bases![0]!.digest);
    expect(labels["io.openshift.s2i.scripts-url"]).toBe("image:///usr/libexec/s2i");
    expect(labels["io.openshift.build.image"]).toBe(builder);

    const ran = run(image, config.config!.Cmd!);
    expect(ran.stderr).toBe("");
    expect(ran.stdout).toContain("Hello: first version");
    expect(ran.stdout).toContain(`dependency libgreeting: installed at commit ${commit}`);
    expect(ran.stdout).toContain(`built from commit ${commit}`);
  });

  it("keeps a newline in an env value a value: no instruction is injected", async () => {
    const image = `${stack.registry}/${NS}/web@${first.outputs!.digest}`;
    const config = await client().getImageConfig(image);
    expect(config.config?.Env).toContain('NOTE=line one\\nRUN ["/bin/touch", "/tmp/injected"]\\nLABEL injected="yes"');
    expect(config.config?.Labels?.["injected"]).toBeUndefined();
    const ran = run(image, ["/bin/sh", "-c", "test -e /tmp/injected && echo injected || echo clean"]);
    expect(ran.stdout.trim()).toBe("clean");
    expect(log(first)).not.toMatch(/^STEP \d+\/\d+: RUN \["\/bin\/touch"/m);
  });

  it("restores the saved artifacts in an incremental rebuild, which is faster", async () => {
    const firstCommit = first.inputs.source!.commit!;
    const commit = commitFiles(app.work, s2iAppFiles("second version"), "s2i app, v2");
    await push(app.work);
    const second = await stack.latestBuild(NS, "web", first.number);
    expect(second.phase, `${second.message}\n${log(second)}`).toBe("Complete");
    const text = log(second);
    expect(text).toContain(`Incremental: restoring the artifacts saved by ${stack.registry}/${NS}/web@${first.outputs!.digest}`);
    expect(text).toContain("Restoring dependencies saved by an earlier build");
    expect(text).toContain(`Dependency libgreeting: restored (installed at commit ${firstCommit})`);
    const image = `${stack.registry}/${NS}/web@${second.outputs!.digest}`;
    const ran = run(image, ["/usr/libexec/s2i/run"]);
    expect(ran.stdout).toContain("Hello: second version");
    // The marker the first build saved: the dependency was installed by build 1, not rebuilt.
    expect(ran.stdout).toContain(`dependency libgreeting: installed at commit ${firstCommit}`);
    expect(ran.stdout).toContain(`built from commit ${commit}`);
    expect(seconds(second)).toBeLessThan(seconds(first));
    console.log(`S2I build times: first ${seconds(first).toFixed(2)} s, incremental ${seconds(second).toFixed(2)} s`);
  });

  it("runs .s2i/bin/assemble from the source instead of the image's", async () => {
    const repo = stack.repo("s2i-custom", SECRET);
    await stack.apply([s2iConfig("custom", repo.bare, builder)]);
    commitFiles(
      repo.work,
      {
        ...s2iAppFiles("custom"),
        ".s2i/bin/assemble": `#!/bin/sh\nset -e\necho "---> custom assemble from the source"\ncp -R /tmp/src/. "$APP_ROOT/"\nmkdir -p "$APP_ROOT/deps"\necho "assembled by .s2i/bin/assemble" > "$APP_ROOT/deps/custom"\nchmod 0755 "$APP_ROOT/app.sh"\n`,
      },
      "custom assemble",
    );
    await push(repo.work);
    const b = await stack.latestBuild(NS, "custom");
    expect(b.phase, `${b.message}\n${log(b)}`).toBe("Complete");
    expect(log(b)).toContain("---> custom assemble from the source");
    expect(log(b)).not.toContain("Installing the application source");
    const ran = run(`${stack.registry}/${NS}/custom@${b.outputs!.digest}`, ["/usr/libexec/s2i/run"]);
    expect(ran.stdout).toContain("dependency custom: assembled by .s2i/bin/assemble");
  });

  it("refuses a builder that would assemble as root, naming the label", async () => {
    await stack.apply([s2iConfig("rooted", app.bare, rootBuilder)]);
    const started = await stack.app.planning.startBuild(NS, "rooted");
    const b = await stack.waitForBuild(NS, started.id);
    expect(b.phase).toBe("Failed");
    expect(b.reason).toBe("InvalidBuilderImage");
    expect(b.message).toContain("io.openshift.s2i.assemble-user");
    expect(b.message).toContain("root");
    expect(log(b)).not.toContain("STEP");
  });
});
