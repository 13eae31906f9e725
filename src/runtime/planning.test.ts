/**
 * Planning at run time on real SQLite (in memory, or one file shared by two
 * processes' worth of Planning): chains queued with their dependencies, skips
 * and coalescing with their reasons, the graph and repository index kept
 * across events and reloaded when the store's planning revision moves (a
 * BuildConfig applied, bases recorded by a build, by this process or
 * another), and per-event store reads bounded to what the event can touch.
 * No builder runs: builds stop at the queue, and their outcomes are written
 * to the store as a builder's report would be.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../adapters/local/sqlite-store.js";
import type { Build } from "../core/build.js";
import { checkBuildConfig } from "../core/buildconfig.js";
import type { Store } from "../ports/store.js";
import { applyConfigs } from "./configs.js";
import { queueRuntime } from "../../test/support/queue-runtime.js";

const NOW = "2026-11-25T10:00:00.000Z";
const R = "registry.example.test";
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const img = (name: string) => `${R}/chain/${name}:latest`;
const REPO = "https://git.example.test/org/chain.git";

/** A BuildConfig of namespace `chain` pushing `img(name)`; `from` its Docker base (followed by its ImageChange trigger), or none (bases come from its builds). */
function config(name: string, from: string | undefined, opts: { uri?: string; ref?: string } = {}) {
  const r = checkBuildConfig({
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name, namespace: "chain" },
    spec: {
      source: { git: { uri: opts.uri ?? REPO, ref: opts.ref ?? "main" }, contextDir: name },
      strategy: { type: "Docker", dockerStrategy: from ? { from: { kind: "DockerImage", name: from } } : {} },
      output: { to: { kind: "DockerImage", name: img(name) } },
      triggers: [{ type: "GitHub", github: { secret: "s" } }, { type: "ImageChange" }],
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

/** Every Store call, counted by method, passed through to the real store. */
function counting(store: Store): { store: Store; calls: Map<string, unknown[][]> } {
  const calls = new Map<string, unknown[][]>();
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (!calls.has(String(prop))) calls.set(String(prop), []);
        calls.get(String(prop))!.push(args);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

function runtime(store: Store) {
  const { builds, planning, deps } = queueRuntime(NOW, store);
  return { store, builds, planning, clock: deps.clock, apply: (docs: unknown[]) => applyConfigs(deps, docs) };
}

/** A queued build finished as a builder reports it: bases with digests, and the image it pushed. */
async function finish(store: Store, b: Build, bases: { name: string; digest: string }[], pushed?: string) {
  await store.updateBuild(b.namespace, b.id, { phase: "Running", startedAt: NOW });
  return store.updateBuild(b.namespace, b.id, {
    phase: "Complete",
    completedAt: NOW,
    inputs: { ...b.inputs, bases },
    ...(pushed ? { outputs: { image: img(b.buildConfig), digest: pushed, tags: ["latest"] } } : {}),
  });
}

const stores: Store[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const memory = () => {
  const s = new SqliteStore(":memory:");
  stores.push(s);
  return s;
};

describe("Planning", () => {
  it("given a diamond on an external base, when the base changes, then B and C are queued after A and D once after both; the same digest again is skipped with the reason", async () => {
    const rt = runtime(memory());
    await rt.apply([config("a", "docker.io/library/node:20"), config("b", img("a")), config("c", img("a")), config("d", img("b"))]);
    // D also follows C (a diamond): its Dockerfile has two bases, recorded by its first build.
    const [d1] = (await rt.builds.enqueue([{ namespace: "chain", buildConfig: "d", causes: [{ type: "Manual", message: "m", at: NOW }], inputs: { bases: [] } }])).builds;
    await finish(rt.store, d1!, [{ name: img("b"), digest: D1 }, { name: img("c"), digest: D1 }], D1);

    const res = await rt.planning.imageUpdated("node:20", D2, "test");
    const byName = new Map(res.builds.map((b) => [b.buildConfig, b]));
    expect([...byName.keys()].sort()).toEqual(["a", "b", "c", "d"]);
    expect(byName.get("b")!.dependsOn).toEqual([`chain/${byName.get("a")!.id}`]);
    expect(byName.get("d")!.dependsOn?.sort()).toEqual([`chain/${byName.get("b")!.id}`, `chain/${byName.get("c")!.id}`].sort());
    expect(byName.get("a")!.causes[0]!.message).toBe(`base docker.io/library/node:20 changed to ${D2} (test)`);

    // A builds from D2 and pushes: the same digest of node:20 again is skipped for A, with the reason.
    await finish(rt.store, byName.get("a")!, [{ name: "node:20", digest: D2 }], D1);
    const again = await rt.planning.imageUpdated("docker.io/library/node:20", D2, "poll");
    expect(again.builds).toEqual([]);
    expect(again.skipped).toEqual([{ buildConfig: "chain/a", reason: `already built from docker.io/library/node:20@${D2}` }]);
    // A's push is an update of img(a): B and C already wait for A's build, as the plan ordered them.
    const pushedA = await rt.planning.imageUpdated(img("a"), D1, "registry");
    expect(pushedA.builds).toEqual([]);
    expect(pushedA.skipped.map((s) => s.reason)).toEqual([
      `already planned after chain/${byName.get("a")!.id}, which pushed ${img("a")}@${D1}`,
      `already planned after chain/${byName.get("a")!.id}, which pushed ${img("a")}@${D1}`,
    ]);
  });

  it("given a queued build downstream, when an upstream image changes, then the event coalesces into it and it waits for the new upstream build", async () => {
    const rt = runtime(memory());
    await rt.apply([config("a", "docker.io/library/node:20"), config("b", img("a"))]);
    const [b1] = (await rt.builds.enqueue([{ namespace: "chain", buildConfig: "b", causes: [{ type: "Manual", message: "m", at: NOW }], inputs: { bases: [] } }])).builds;
    const res = await rt.planning.imageUpdated("node:20", D1, "test");
    expect(res.builds.map((b) => b.buildConfig)).toEqual(["a"]);
    expect(res.coalesced).toEqual([{ build: `chain/${b1!.id}`, buildConfig: "chain/b" }]);
    const b = await rt.store.getBuild("chain", b1!.id);
    expect(b!.dependsOn).toEqual([`chain/${res.builds[0]!.id}`]);
    expect(b!.causes.map((c) => c.type)).toEqual(["Manual", "ImageChange"]);
  });

  it("given a BuildConfig whose Dockerfile lives in the repository, when its first build records its bases, then the next event follows them", async () => {
    const rt = runtime(memory());
    await rt.apply([config("base", "docker.io/library/alpine:3"), config("app", undefined)]);
    expect((await rt.planning.planImage(img("base"), D1)).waves).toEqual([]);
    const [app1] = (await rt.builds.enqueue([{ namespace: "chain", buildConfig: "app", causes: [{ type: "Manual", message: "m", at: NOW }], inputs: { bases: [] } }])).builds;
    await finish(rt.store, app1!, [{ name: img("base"), digest: D1 }], D1);
    const plan = await rt.planning.planImage(img("base"), D2);
    expect(plan.waves.map((w) => w.map((b) => b.key))).toEqual([["chain/app"]]);
    expect((await rt.planning.graph()).followers.get(img("base"))).toEqual(["chain/app"]);
  });

  it("given two processes on one store, when one applies a BuildConfig or records bases, then the other plans with it on its next event", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cascade-planning-"));
    dirs.push(dir);
    const first = new SqliteStore(join(dir, "cascade.db"));
    const second = new SqliteStore(join(dir, "cascade.db"));
    stores.push(first, second);
    const p1 = runtime(first);
    const p2 = runtime(second);
    await p1.apply([config("a", "docker.io/library/node:20")]);
    expect((await p2.planning.planImage("node:20", D1)).waves.flat().map((b) => b.key)).toEqual(["chain/a"]);
    expect((await p2.planning.planPush(REPO, "main")).waves.flat().map((b) => b.key)).toEqual(["chain/a"]);

    // p1 applies a follower on the same repository: p2's kept graph and repository index move with it.
    await p1.apply([config("b", img("a")), config("c", undefined)]);
    expect((await p2.planning.planImage("node:20", D1)).waves.map((w) => w.map((b) => b.key))).toEqual([["chain/a"], ["chain/b"]]);
    expect((await p2.planning.planPush("git@git.example.test:org/chain.git", "main")).waves.map((w) => w.map((b) => b.key))).toEqual([
      ["chain/a", "chain/c"],
      ["chain/b"],
    ]);

    // A build of C (run by p1's side) records C's bases: p2 now sees C follow A.
    const [c1] = (await p1.builds.enqueue([{ namespace: "chain", buildConfig: "c", causes: [{ type: "Manual", message: "m", at: NOW }], inputs: { bases: [] } }])).builds;
    await finish(first, c1!, [{ name: img("a"), digest: D1 }], D2);
    expect((await p2.planning.planImage(img("a"), D2)).waves.map((w) => w.map((b) => b.key))).toEqual([["chain/b", "chain/c"]]);
  });

  it("given an estate kept across events, when events arrive, then the store is read for the revision and the BuildConfigs the event touches only", async () => {
    const { store, calls } = counting(memory());
    const rt = runtime(store);
    const others = Array.from({ length: 30 }, (_, i) => config(`other-${i}`, "docker.io/library/python:3.12", { uri: `https://git.example.test/org/other-${i}.git` }));
    await rt.apply([config("a", "docker.io/library/node:20"), config("b", img("a")), config("c", img("b")), ...others]);
    await rt.planning.planImage("node:20", D1); // loads the estate
    calls.clear();

    const res = await rt.planning.imageUpdated("node:20", D1, "test");
    expect(res.builds.map((b) => b.buildConfig)).toEqual(["a", "b", "c"]);
    expect(calls.get("listBuildConfigs")).toBeUndefined();
    expect(calls.get("listBuilds")).toBeUndefined();
    // (Queueing reads each queued build's BuildConfig for its run policy; planning reads none.)
    expect(calls.get("getBuildConfig")?.length ?? 0).toBeLessThanOrEqual(res.builds.length);
    expect(calls.get("planningRevision")).toHaveLength(1);
    // Recent builds of the image's followers and of the BuildConfigs that push it; queued builds of the closure.
    expect(calls.get("recentBuilds")!.map(([refs]) => (refs as { name: string }[]).map((r) => r.name))).toEqual([["a"]]);
    expect(calls.get("queuedBuildIds")!.map(([refs]) => (refs as { name: string }[]).map((r) => r.name).sort())).toEqual([["a", "b", "c"]]);

    calls.clear();
    const push = await rt.planning.planPush("https://git.example.test/org/other-7", "main");
    expect(push.waves.flat().map((b) => b.key)).toEqual(["chain/other-7"]);
    expect(calls.get("listBuildConfigs")).toBeUndefined();
    expect(calls.get("queuedBuildIds")!.map(([refs]) => (refs as { name: string }[]).map((r) => r.name))).toEqual([["other-7"]]);

    // Applying changes the revision: the next event reloads the estate, once.
    await rt.apply([config("d", img("c"))]);
    calls.clear();
    expect((await rt.planning.planImage(img("c"), D2)).waves.flat().map((b) => b.key)).toEqual(["chain/d"]);
    await rt.planning.planImage(img("c"), D2);
    expect(calls.get("listBuildConfigs")).toHaveLength(1);
  });

  it("given a push whose commit the last successful build already built, when it arrives, then it is skipped with the reason", async () => {
    const rt = runtime(memory());
    await rt.apply([config("a", "docker.io/library/node:20")]);
    const commit = "c".repeat(40);
    const [a1] = (await rt.builds.enqueue([{ namespace: "chain", buildConfig: "a", causes: [{ type: "Manual", message: "m", at: NOW }], inputs: { source: { uri: REPO, commit }, bases: [] } }])).builds;
    await finish(rt.store, a1!, [{ name: "node:20", digest: D1 }], D1);
    const cause = { type: "GitHub" as const, message: "push", commit, at: NOW };
    const res = await rt.planning.submitRoots([{ key: "chain/a", reason: "push", cause, inputs: { source: { uri: REPO, commit }, bases: [] } }]);
    expect(res.builds).toEqual([]);
    expect(res.skipped).toEqual([{ buildConfig: "chain/a", reason: `inputs unchanged: commit ${commit.slice(0, 12)} was built by ${a1!.id}` }]);
    const other = await rt.planning.submitRoots([{ key: "chain/a", reason: "push", cause: { ...cause, commit: "d".repeat(40) }, inputs: { source: { uri: REPO, commit: "d".repeat(40) }, bases: [] } }]);
    expect(other.builds.map((b) => b.buildConfig)).toEqual(["a"]);
  });
});
