/** The `cascade` command against a running local Cascade, as a user types it. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commitFiles, push } from "../src/adapters/local/git-repo.js";
import type { Build } from "../src/core/build.js";
import { cascade } from "./support/cli.js";
import { buildBaseImage, startStack, type Stack } from "./support/stack.js";

describe("cascade CLI", () => {
  let stack: Stack;
  let env: Record<string, string>;
  let base: string;
  let repo: { bare: string; work: string };

  beforeAll(async () => {
    stack = await startStack();
    env = { CASCADE_URL: stack.app.url };
    base = await buildBaseImage(stack);
    repo = stack.repo("cli-app", "cli-secret");
    commitFiles(repo.work, { Dockerfile: `FROM ${base}\nRUN echo cli-build-step\n` }, "cli app");
    await push(repo.work);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("refuses an invalid file naming the file, document and field, and stores nothing", async () => {
    const file = join("test", "fixtures", "buildconfigs", "invalid", "buildarg-name-number.yaml");
    const r = await cascade(["apply", "-f", file], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("buildarg-name-number.yaml, document 2");
    expect(r.stderr).toMatch(/spec\.strategy\.dockerStrategy\.buildArgs\[0\]\.name/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const list = await cascade(["builds", "--json"], env);
    expect(JSON.parse(list.stdout).every((b: Build) => b.namespace === "test")).toBe(true);
  });

  it("applies a BuildConfig, warns about unsupported fields by name, and builds it with --follow", async () => {
    const file = join(stack.gitRoot, "cli-app.yaml");
    writeFileSync(
      file,
      `apiVersion: build.openshift.io/v1
kind: BuildConfig
metadata:
  name: cli-app
spec:
  nodeSelector:
    disk: ssd
  source:
    git:
      uri: ${repo.bare}
      ref: main
  strategy:
    dockerStrategy:
      forcePull: true
  output:
    to:
      kind: DockerImage
      name: ${stack.registry}/default/cli-app:latest
  triggers:
  - type: GitHub
    github:
      secret: cli-secret
`,
    );
    const applied = await cascade(["apply", "-f", file], env);
    expect(applied.stderr).toContain("spec.nodeSelector");
    expect(applied.stderr).toContain("spec.strategy.dockerStrategy.forcePull");
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain("buildconfig default/cli-app created");

    const run = await cascade(["start-build", "cli-app", "--follow"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("cli-build-step");
    expect(run.stderr).toMatch(/build default\/cli-app-1 Complete/);

    const builds = JSON.parse((await cascade(["builds", "--json", "-n", "default"], env)).stdout) as Build[];
    expect(builds[0]).toMatchObject({ id: "cli-app-1", phase: "Complete", causes: [{ type: "Manual" }] });
    const table = await cascade(["builds"], env);
    expect(table.stdout).toMatch(/default\/cli-app-1\s+Complete/);
    const logs = await cascade(["logs", "cli-app-1"], env);
    expect(logs.stdout).toContain(`Commit ${builds[0]!.inputs.source!.commit}`);
  });

  it("fails start-build --follow with a non-zero exit when the build fails", async () => {
    commitFiles(repo.work, { Dockerfile: `FROM ${base}\nRUN false\n` }, "breaks");
    await push(repo.work);
    const r = await cascade(["start-build", "cli-app", "--follow"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Failed \(DockerBuildFailed/);
  });

  it("subscribes an http URL and rejects other schemes", async () => {
    const ok = await cascade(["subscribe", "http://127.0.0.1:9/hook", "--mode", "structured", "--json"], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ url: "http://127.0.0.1:9/hook", mode: "structured" });
    const bad = await cascade(["subscribe", "ftp://127.0.0.1/x"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`url "ftp://127.0.0.1/x": only http and https`);
  });

  it.each([
    [["frobnicate"], 2, /unknown command "frobnicate"/],
    [["start-build", "no-such-config"], 1, /buildconfig "default\/no-such-config" not found/],
    [["logs", "nope-1"], 2, /build "nope-1" not found/],
    [["apply", "-f", "/nonexistent.yaml"], 2, /-f \/nonexistent\.yaml: no such file/],
  ])("cascade %j exits %i with a clear message", async (args, code, message) => {
    const r = await cascade(args, env);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
  });

  it("says where it looked when Cascade is not running", async () => {
    const r = await cascade(["builds"], { CASCADE_URL: "http://127.0.0.1:9" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach Cascade at http:\/\/127\.0\.0\.1:9.*cascade up/);
  });

  it("prints the webhook URL and secret to paste into each provider", async () => {
    const r = await cascade(["hooks", "cli-app", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      expect.objectContaining({
        provider: "GitHub",
        url: `${stack.app.url}/hooks/github`,
        secret: "cli-secret",
        openshiftUrl: `${stack.app.url}/apis/build.openshift.io/v1/namespaces/default/buildconfigs/cli-app/webhooks/cli-secret/github`,
      }),
    ]);
    const missing = await cascade(["hooks", "nope"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('buildconfig "default/nope" not found');
  });

  it("prints the registry login", async () => {
    const r = await cascade(["registry", "login", "--json", "--home", stack.app.home, "--registry-port", stack.registry.split(":")[1]!], env);
    expect(r.code, r.stderr).toBe(0);
    const creds = JSON.parse(readFileSync(join(stack.app.home, "registry", "credentials.json"), "utf8"));
    expect(JSON.parse(r.stdout)).toEqual({ registry: stack.registry, ...creds });
  });
});
