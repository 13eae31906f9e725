/**
 * Fast ephemeral builds on real parts: the shared layer cache through the
 * registry (one repository per namespace), `noCache`, reproducible digests
 * (SOURCE_DATE_EPOCH) and unchanged outputs that stop a chain, and pruning.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { commitFiles, push } from "../src/adapters/local/git-repo.js";
import { DistributionClient } from "../src/adapters/registry/distribution-client.js";
import type { Build } from "../src/core/build.js";
import { formatBuilds } from "../src/cli/util.js";
import { buildBaseImage, startStack, type Stack } from "./support/stack.js";

describe("layer cache, reproducible digests and unchanged outputs", () => {
  let stack: Stack;
  let base: string;
  let client: DistributionClient;
  const repos: Record<string, { bare: string; work: string }> = {};
  const log = (b: Build) => readFileSync(b.logPath!, "utf8");
  const slowDockerfile = () => `FROM ${base}\nRUN sleep 3 && echo dependencies > /deps\nCOPY src/ /app/\nCMD ["cat", "/app/main.txt"]\n`;
  const bc = (ns: string, name: string, repo: string, docker: Record<string, unknown> = {}, triggers: unknown[] = []) => ({
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name, namespace: ns },
    spec: {
      source: { git: { uri: repo, ref: "main" } },
      strategy: { type: "Docker", dockerStrategy: docker },
      output: { to: { kind: "DockerImage", name: `${stack.registry}/${ns}/${name}:latest` } },
      triggers,
    },
  });
  const start = async (ns: string, name: string) => {
    const b = await stack.waitForBuild(ns, (await stack.app.planning.startBuild(ns, name)).id, 180_000);
    expect(b.phase, `${b.message}\n${log(b)}`).toBe("Complete");
    return b;
  };
  const cacheRepo = (ns: string) => `${stack.registry}/cascade-cache/${ns}`;

  beforeAll(async () => {
    stack = await startStack();
    base = await buildBaseImage(stack);
    client = new DistributionClient({ credentialsFor: () => stack.app.registry.credentials });
    for (const name of ["slow-a", "slow-b", "slow-c", "chain"]) {
      repos[name] = stack.repo(name, "unused");
    }
    for (const name of ["slow-a", "slow-b", "slow-c"]) {
      commitFiles(repos[name]!.work, { Dockerfile: slowDockerfile(), "src/main.txt": "version 1\n" }, "slow app");
      await push(repos[name]!.work);
    }
    commitFiles(repos.chain!.work, { README: "chain\n" }, "chain");
    await push(repos.chain!.work);
    // Inline Dockerfiles: the graph knows b's base before b's first build.
    const chain = (name: string, dockerfile: string, triggers: unknown[]) => {
      const c = bc("chain", name, repos.chain!.bare, {}, triggers);
      (c.spec.source as Record<string, unknown>).dockerfile = dockerfile;
      return c;
    };
    await stack.apply([
      bc("team-a", "app", repos["slow-a"]!.bare),
      bc("team-b", "app", repos["slow-b"]!.bare),
      bc("team-c", "app", repos["slow-c"]!.bare, { noCache: true }),
      chain("a", `FROM ${base}\nRUN echo a > /a\n`, []),
      chain("b", `FROM ${stack.registry}/chain/a:latest\nRUN echo b > /b\n`, [{ type: "ImageChange" }]),
    ]);
  }, 240_000);
  afterAll(async () => {
    await stack?.close();
  });

  let first: Build;

  it("rebuilds a source-only change on fresh storage with the slow step from the namespace's cache", async () => {
    first = await start("team-a", "app");
    expect(first.cache?.repository).toBe(cacheRepo("team-a"));
    expect(first.cache?.steps.map((s) => [s.instruction.split(" ")[0], s.cached]), log(first)).toEqual([
      ["RUN", false],
      ["COPY", false],
      ["CMD", false],
      ["LABEL", false],
    ]);
    expect(await client.listTags(cacheRepo("team-a"))).not.toEqual([]);

    commitFiles(repos["slow-a"]!.work, { "src/main.txt": "version 2\n" }, "source only");
    await push(repos["slow-a"]!.work);
    const second = await start("team-a", "app");
    const text = log(second);
    expect(text).toContain(`--> Layer cache: ${cacheRepo("team-a")}`);
    expect(text).toMatch(/--> Layer cache: 1 of 4 steps from the cache/);
    expect(text).toMatch(/-->\s+from the cache: STEP 2\/5: RUN sleep 3/);
    expect(second.cache?.steps.find((s) => s.instruction.startsWith("RUN"))?.cached).toBe(true);
    expect(second.cache?.steps.find((s) => s.instruction.startsWith("COPY"))?.cached).toBe(false);
    // The 3 s step did not run again (each build's storage is fresh: the layer came from the registry).
    expect(second.durationMs!).toBeLessThan(first.durationMs! - 2000);
    expect(formatBuilds([second])).toMatch(/team-a\/app-2 +Complete .* 1\/4 /);
    console.log(`cache: first ${first.durationMs} ms, source-only rebuild ${second.durationMs} ms`);
  });

  it("keeps namespaces apart: the same Dockerfile in another namespace does not hit the first one's cache", async () => {
    const b = await start("team-b", "app");
    expect(b.cache?.repository).toBe(cacheRepo("team-b"));
    expect(b.cache?.steps.every((s) => !s.cached)).toBe(true);
    expect(log(b)).not.toContain(cacheRepo("team-a"));
    expect(b.durationMs!).toBeGreaterThan(3000);
  });

  it("reads and writes no cache under noCache: true", async () => {
    const b = await start("team-c", "app");
    expect(b.cache).toBeUndefined();
    expect(log(b)).not.toContain("Layer cache");
    expect(log(b)).not.toContain("Using cache");
    expect(await client.listTags(cacheRepo("team-c"))).toEqual([]);
  });

  it("gives the same digest for the same commit and base, records the output unchanged, and does not rebuild downstream", async () => {
    const a1 = await start("chain", "a");
    // b follows a by its ImageChange trigger.
    let b1: Build | undefined;
    for (let t = Date.now(); !b1 && Date.now() - t < 60_000; await new Promise((r) => setTimeout(r, 100))) {
      const [b] = await stack.app.store.listBuilds({ namespace: "chain", buildConfig: "b", limit: 1 });
      if (b) b1 = await stack.waitForBuild("chain", b.id);
    }
    expect(b1?.phase).toBe("Complete");
    const published = () => stack.events.events.filter((e) => e.type === "cascade.image.published" && (e.data as { image: string }).image.includes("/chain/a:"));
    await stack.app.bus.kick();
    const publishedBefore = published().length;

    // A manual start always builds, and builds a's closure after it: b waits for a.
    const started = await stack.app.planning.startBuild("chain", "a");
    const a2 = await stack.waitForBuild("chain", started.id, 120_000);
    expect(a2.phase).toBe("Complete");
    expect(a2.outputs?.digest).toBe(a1.outputs?.digest);
    expect(a2.outputs?.unchanged).toBe(true);
    expect(log(a2)).toContain(`--> Output unchanged: ${stack.registry}/chain/a:latest already held ${a1.outputs!.digest}`);

    const [b2] = await stack.app.store.listBuilds({ namespace: "chain", buildConfig: "b", limit: 1 });
    const done = await stack.waitForBuild("chain", b2!.id);
    expect(done.number).toBe(b1!.number + 1);
    expect(done.phase).toBe("Cancelled");
    expect(done.reason).toBe("UpstreamUnchanged");
    expect(done.message).toContain(`chain/${a2.id} pushed ${stack.registry}/chain/a:latest@${a2.outputs!.digest} (unchanged), which ${b1!.id} already used`);
    expect(done.startedAt).toBeUndefined();
    const table = formatBuilds([a2, done]);
    expect(table).toMatch(/chain\/a-2 +Complete +OutputUnchanged/);
    expect(table).toMatch(/chain\/b-2 +Cancelled +UpstreamUnchanged/);

    // No image update for an unchanged output; a plan for that digest skips b, with the reason.
    await stack.app.bus.kick();
    expect(published().length).toBe(publishedBefore);
    const plan = await stack.app.planning.planImage(`${stack.registry}/chain/a:latest`, a2.outputs!.digest);
    expect(plan.waves).toEqual([]);
    expect(plan.skipped).toEqual([{ key: "chain/b", reason: `already built from ${stack.registry}/chain/a:latest@${a2.outputs!.digest}` }]);
  });

  it("prunes cache entries older than the TTL, and keeps younger ones", async () => {
    const before = await client.listTags(cacheRepo("team-a"));
    expect(before.length).toBeGreaterThan(0);
    const res = await fetch(`${stack.app.url}/cache/prune`, { method: "POST", body: JSON.stringify({ olderThan: "100000h" }) });
    expect(res.status).toBe(200);
    const kept = (await res.json()) as { repositories: { repository: string; kept: number; deleted: unknown[] }[] };
    expect(kept.repositories.find((r) => r.repository === cacheRepo("team-a"))).toMatchObject({ kept: before.length, deleted: [] });

    const res2 = await fetch(`${stack.app.url}/cache/prune`, { method: "POST", body: JSON.stringify({ olderThan: "1ms" }) });
    const pruned = (await res2.json()) as { repositories: { repository: string; kept: number; deleted: unknown[] }[] };
    expect(pruned.repositories.find((r) => r.repository === cacheRepo("team-a"))?.deleted.length).toBe(before.length);
    expect(await client.listTags(cacheRepo("team-a"))).toEqual([]);

    const bad = await fetch(`${stack.app.url}/cache/prune`, { method: "POST", body: JSON.stringify({ olderThan: "7d" }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain('olderThan "7d" is not a duration');
  });
});
