/**
 * Build chains on real parts: a diamond (B and C built on A, D built on both)
 * rebuilds B and C, then D exactly once, when a new A is pushed to the local
 * registry; its notification reaches /hooks/registry. `POST /plan` predicts the
 * same builds beforehand, and the same digest again rebuilds nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDistributionClient } from "../src/adapters/registry/distribution-client.js";
import type { Build } from "../src/core/build.js";
import { buildBaseImage, startStack, type Stack } from "./support/stack.js";
import { pushBlob, pushManifest } from "./support/push-image.js";
import { cascade } from "./support/cli.js";

const NS = "chain";

describe("build chains", () => {
  let stack: Stack;
  let base: string;
  let repo: { bare: string; work: string };
  const bc = (name: string, dockerfile: string) => ({
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name, namespace: NS },
    spec: {
      source: { git: { uri: repo.bare, ref: "main" }, dockerfile },
      strategy: { type: "Docker" },
      output: { to: { kind: "DockerImage", name: `${stack.registry}/${NS}/${name}:latest` } },
      triggers: [{ type: "ImageChange" }],
    },
  });

  beforeAll(async () => {
    stack = await startStack();
    base = await buildBaseImage(stack); // A: the busybox base, pushed by Cascade's "test/base" build
    repo = stack.repo("chain-src", "unused");
    const { commitFiles, push } = await import("../src/adapters/local/git-repo.js");
    commitFiles(repo.work, { README: "chain sources\n" }, "sources");
    await push(repo.work);
    const r = stack.registry;
    await stack.apply([
      bc("b", `FROM ${base}\nRUN echo b > /b\n`),
      bc("c", `FROM ${base}\nRUN echo c > /c\n`),
      bc("d", `FROM ${r}/${NS}/b:latest AS from-b\nFROM ${r}/${NS}/c:latest\nCOPY --from=from-b /b /b\n`),
    ]);
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function chainBuilds(): Promise<Build[]> {
    return (await stack.app.store.listBuilds({ namespace: NS })).reverse();
  }

  async function settle(predicate: (b: Build[]) => boolean, ms = 120_000): Promise<Build[]> {
    const t = Date.now();
    for (;;) {
      const builds = await chainBuilds();
      if (predicate(builds)) return builds;
      if (Date.now() - t > ms) throw new Error(`chain did not settle: ${builds.map((b) => `${b.id}:${b.phase}`).join(", ")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Push a new A: the same layers with a changed config, so a new digest, as an external push would. */
  async function pushNewBase(rev: string): Promise<string> {
    const { username, password } = stack.app.registry.credentials;
    const client = createDistributionClient({ credentialsFor: () => ({ username, password }) });
    const manifest = await client.getManifest(base);
    if (manifest.kind !== "image") throw new Error("base is not a single image");
    const raw = JSON.parse(manifest.raw);
    const config = await client.getImageConfig(base);
    const changed = { ...config, config: { ...config.config, Env: [...(config.config?.Env ?? []), `BASE_REV=${rev}`] } };
    const target = { url: stack.app.registry.url, credentials: { username, password } };
    const repository = base.slice(stack.registry.length + 1).replace(/:latest$/, "");
    const blob = await pushBlob(target, repository, Buffer.from(JSON.stringify(changed)));
    const next = { ...raw, mediaType: raw.mediaType ?? manifest.mediaType, config: { ...raw.config, digest: blob.digest, size: blob.size } };
    return (await pushManifest(target, repository, "latest", next)).digest;
  }

  async function planFor(image: string) {
    const res = await fetch(`${stack.app.url}/plan`, { method: "POST", body: JSON.stringify({ image }) });
    expect(res.status).toBe(200);
    return (await res.json()) as { waves: { key: string; dependsOn: string[] }[][]; skipped: { key: string; reason: string }[] };
  }

  it("explains the plan and the graph on the command line, running nothing", async () => {
    const env = { CASCADE_URL: stack.app.url };
    const plan = await cascade(["plan", "--image", `${base}@sha256:${"f".repeat(64)}`], env);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(new RegExp(`wave 1\\n  build ${NS}/b: base ${base} changed to sha256:f{64}\\n  build ${NS}/c: `));
    expect(plan.stdout).toContain(`wave 2\n  build ${NS}/d: base ${stack.registry}/${NS}/`);
    expect(plan.stdout).toMatch(/\[after chain\/b, chain\/c\]|\[after chain\/c, chain\/b\]/);
    const graph = await cascade(["graph", "--json"], env);
    const g = JSON.parse(graph.stdout) as { edges: { from: string; to: string }[] };
    expect(g.edges.filter((e) => e.from.startsWith(`${NS}/`)).map((e) => `${e.from}>${e.to}`).sort()).toEqual([`${NS}/b>${NS}/d`, `${NS}/c>${NS}/d`]);
    expect(g.edges.filter((e) => e.to === `${NS}/b`).map((e) => e.from)).toEqual(["test/base"]);
    const text = await cascade(["graph"], env);
    expect(text.stdout).toContain(`${NS}/d -> ${stack.registry}/${NS}/d:latest\n  follows ${stack.registry}/${NS}/b:latest (built by ${NS}/b)`);
    const bad = await cascade(["plan", "--image", base], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("expected REF@sha256:DIGEST");
    expect(await chainBuilds()).toEqual([]);
  });

  it("predicts, then runs, B and C before D, each exactly once, with each base digest labelled", async () => {
    const before = (await stack.app.store.listBuilds({ namespace: "test", buildConfig: "base", limit: 1 }))[0]!.outputs!.digest;
    // A dry run for a new digest of A predicts the waves, and runs nothing.
    const fake = `sha256:${"e".repeat(64)}`;
    const predicted = await planFor(`${base}@${fake}`);
    expect(predicted.waves.map((w) => w.map((p) => p.key))).toEqual([[`${NS}/b`, `${NS}/c`], [`${NS}/d`]]);
    expect(await chainBuilds()).toEqual([]);

    const digest = await pushNewBase("2");
    expect(digest).not.toBe(before);
    await settle((bs) => bs.length >= 3 && bs.every((b) => ["Complete", "Failed", "Error", "Cancelled"].includes(b.phase)));
    await new Promise((r) => setTimeout(r, 1500)); // late notifications of B's and C's pushes must not add builds
    const all = await chainBuilds();
    expect(all.map((b) => `${b.buildConfig}:${b.phase}`).sort()).toEqual(["b:Complete", "c:Complete", "d:Complete"]);

    const [b, c, d] = ["b", "c", "d"].map((n) => all.find((x) => x.buildConfig === n)!) as [Build, Build, Build];
    expect(Date.parse(d.startedAt!)).toBeGreaterThanOrEqual(Math.max(Date.parse(b.completedAt!), Date.parse(c.completedAt!)));
    expect(d.dependsOn?.sort()).toEqual([`${NS}/${b.id}`, `${NS}/${c.id}`]);
    expect(b.causes[0]).toMatchObject({ type: "ImageChange", image: `${base}@${digest}` });
    expect(b.inputs.bases).toEqual([{ name: base, digest }]);
    expect(d.inputs.bases).toEqual([
      { name: `${stack.registry}/${NS}/b:latest`, digest: b.outputs!.digest },
      { name: `${stack.registry}/${NS}/c:latest`, digest: c.outputs!.digest },
    ]);

    // Each output's base.digest label names the new digest of its parent (the last stage's base).
    const { username, password } = stack.app.registry.credentials;
    const client = createDistributionClient({ credentialsFor: () => ({ username, password }) });
    const label = async (x: Build) =>
      (await client.getImageConfig(`${stack.registry}/${NS}/${x.buildConfig}@${x.outputs!.digest}`)).config?.Labels?.["org.opencontainers.image.base.digest"];
    expect(await label(b)).toBe(digest);
    expect(await label(c)).toBe(digest);
    expect(await label(d)).toBe(c.outputs!.digest);
  });

  it("rebuilds nothing when the same digest is pushed again, and says why", async () => {
    const count = (await chainBuilds()).length;
    const current = (await chainBuilds()).find((b) => b.buildConfig === "b")!.inputs.bases[0]!.digest!;
    const plan = await planFor(`${base}@${current}`);
    expect(plan.waves).toEqual([]);
    expect(plan.skipped.map((s) => s.key).sort()).toEqual([`${NS}/b`, `${NS}/c`]);
    expect(plan.skipped[0]!.reason).toContain(`already built from ${base}@${current}`);
    // The registry notifies again for a re-push of the same manifest: nothing is queued.
    const { username, password } = stack.app.registry.credentials;
    const client = createDistributionClient({ credentialsFor: () => ({ username, password }) });
    const m = await client.getManifest(base);
    const repository = base.slice(stack.registry.length + 1).replace(/:latest$/, "");
    await pushManifest({ url: stack.app.registry.url, credentials: { username, password } }, repository, "latest", JSON.parse(m.raw));
    await new Promise((r) => setTimeout(r, 2500));
    expect((await chainBuilds()).length).toBe(count);
  });

  it("refuses a BuildConfig that would close an ImageChange cycle, naming it, and stores nothing", async () => {
    const r = stack.registry;
    const res = await fetch(`${stack.app.url}/buildconfigs`, {
      method: "POST",
      body: JSON.stringify({ items: [bc("b", `FROM ${r}/${NS}/d:latest\n`)] }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { message: string };
    expect(body.message).toContain(`ImageChange cycle: ${NS}/b -> ${NS}/d -> ${NS}/b`);
    const stored = await stack.app.store.getBuildConfig(NS, "b");
    expect(stored?.config.spec.source?.dockerfile).toContain(base);
  });

  it("leaves the downstream of a failed build not run, with the reason", async () => {
    await stack.apply([bc("c", `FROM ${base}\nRUN exit 7\n`)]);
    const started = await stack.app.planning.startBuild(NS, "c");
    const settled = await settle((bs) => {
      const d = bs.filter((x) => x.buildConfig === "d").at(-1);
      return d !== undefined && d.dependsOn?.includes(`${NS}/${started.id}`) === true && ["Cancelled", "Complete", "Failed"].includes(d.phase);
    });
    const c = settled.find((x) => x.id === started.id)!;
    const d = settled.filter((x) => x.buildConfig === "d").at(-1)!;
    expect(c.phase).toBe("Failed");
    expect(d).toMatchObject({ phase: "Cancelled", reason: "UpstreamFailed" });
    expect(d.message).toContain(`not run: upstream build ${NS}/${c.id} Failed`);
  });
});
