/** The planner's guarantees (DESIGN.md section 2), as given/when/then cases over small graphs. */
import { describe, expect, it } from "vitest";
import { checkBuildConfig, type BuildConfig } from "./buildconfig.js";
import { graphNode } from "./graph-nodes.js";
import { buildGraph, downstreamClosure, downstreamInPlan, findCycle, planClosure, planImageUpdate, type GraphNode, type PlanState } from "./planner.js";

const R = "registry.example.test";
const img = (n: string) => `${R}/${n}:latest`;
const node = (key: string, output: string | undefined, follows: string[]): GraphNode => ({
  key,
  ...(output ? { output: img(output) } : {}),
  follows: follows.map(img),
  bases: follows.map(img),
});
const noState: PlanState = { lastDigest: () => undefined, queuedBuild: () => undefined };
const keys = (waves: { key: string }[][]) => waves.map((w) => w.map((p) => p.key));
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

// A -> B, A -> C, B -> D, C -> D (a diamond), plus E on an unrelated base.
const diamond = buildGraph([
  node("ns/a", "a", ["base"]),
  node("ns/b", "b", ["a"]),
  node("ns/c", "c", ["a"]),
  node("ns/d", "d", ["b", "c"]),
  node("ns/e", "e", ["other"]),
]);

describe("planner", () => {
  it("given a diamond, when its root base changes, then B and C build after A and D builds once after both", () => {
    const plan = planImageUpdate(diamond, { image: img("base"), digest: D1 }, noState);
    expect(keys(plan.waves)).toEqual([["ns/a"], ["ns/b", "ns/c"], ["ns/d"]]);
    expect(plan.waves[2]![0]!.dependsOn.sort()).toEqual(["ns/b", "ns/c"]);
    expect(plan.waves.flat().filter((p) => p.key === "ns/d")).toHaveLength(1);
  });

  it("given a diamond, when a middle image changes, then only its downstream builds", () => {
    const plan = planImageUpdate(diamond, { image: img("b"), digest: D1 }, noState);
    expect(keys(plan.waves)).toEqual([["ns/d"]]);
    expect(plan.waves[0]![0]!.reason).toContain(`base ${img("b")} changed to ${D1}`);
  });

  it("given an image nobody follows, when it changes, then nothing is planned", () => {
    expect(planImageUpdate(diamond, { image: img("nobody"), digest: D1 }, noState).materialise()).toEqual({ waves: [], skipped: [] });
  });

  it("given a BuildConfig that last built from this digest, when the same digest arrives, then it is skipped with the reason", () => {
    const state: PlanState = { ...noState, lastDigest: (k, i) => (k === "ns/a" && i === img("base") ? D1 : undefined) };
    const plan = planImageUpdate(diamond, { image: img("base"), digest: D1 }, state);
    expect(plan.waves).toEqual([]);
    expect(plan.skipped).toEqual([{ key: "ns/a", reason: `already built from ${img("base")}@${D1}` }]);
  });

  it("given a different last digest, when a new digest arrives, then the reason names both", () => {
    const state: PlanState = { ...noState, lastDigest: () => D1 };
    const plan = planImageUpdate(diamond, { image: img("base"), digest: D2 }, state);
    expect(plan.waves[0]![0]!.reason).toBe(`base ${img("base")} changed to ${D2} (was ${D1})`);
  });

  it("given a build already ordered after the producer of a digest, when that digest arrives, then it is skipped with the reason", () => {
    const state: PlanState = { ...noState, alreadyPlanned: (k) => (k === "ns/d" ? "already planned after ns/b-1" : undefined) };
    const plan = planImageUpdate(diamond, { image: img("b"), digest: D1 }, state);
    expect(plan.waves).toEqual([]);
    expect(plan.skipped).toEqual([{ key: "ns/d", reason: "already planned after ns/b-1" }]);
  });

  it("given a queued build, when an event plans it again, then the event coalesces into the queued build", () => {
    const state: PlanState = { ...noState, queuedBuild: (k) => (k === "ns/d" ? "d-7" : undefined) };
    const plan = planImageUpdate(diamond, { image: img("base"), digest: D1 }, state);
    expect(plan.waves[2]).toEqual([expect.objectContaining({ key: "ns/d", coalesceInto: "d-7" })]);
  });

  it("given roots from a git push, when one root follows another, then it waits for it", () => {
    const plan = planClosure(diamond, [
      { key: "ns/b", reason: "push" },
      { key: "ns/a", reason: "push" },
    ], noState);
    expect(keys(plan.waves)).toEqual([["ns/a"], ["ns/b", "ns/c"], ["ns/d"]]);
    expect(plan.waves[1]!.find((p) => p.key === "ns/b")!.reason).toBe("push");
  });

  it("given a failure in a plan, when A fails, then everything downstream of it is left not run", () => {
    const plan = planImageUpdate(diamond, { image: img("base"), digest: D1 }, noState);
    expect(downstreamInPlan(plan, "ns/a")).toEqual(["ns/b", "ns/c", "ns/d"]);
    expect(downstreamInPlan(plan, "ns/b")).toEqual(["ns/d"]);
    expect(downstreamInPlan(plan, "ns/d")).toEqual([]);
  });

  it("given roots, when their downstream closure is asked for, then it holds every BuildConfig a plan from them can touch, once", () => {
    expect(downstreamClosure(diamond, ["ns/b", "ns/nobody", "ns/b"]).sort()).toEqual(["ns/b", "ns/d"]);
    expect(downstreamClosure(diamond, ["ns/a"]).sort()).toEqual(["ns/a", "ns/b", "ns/c", "ns/d"]);
    const plan = planClosure(diamond, [{ key: "ns/a", reason: "push" }], noState);
    expect(new Set(plan.waves.flat().map((b) => b.key))).toEqual(new Set(downstreamClosure(diamond, ["ns/a"])));
    expect(downstreamClosure(buildGraph([node("ns/x", "x", ["y"]), node("ns/y", "y", ["x"])]), ["ns/x"]).sort()).toEqual(["ns/x", "ns/y"]);
  });

  it.each([
    ["a self-loop", [node("ns/x", "x", ["x"])], ["ns/x", "ns/x"]],
    ["a two-cycle", [node("ns/x", "x", ["y"]), node("ns/y", "y", ["x"])], ["ns/x", "ns/y", "ns/x"]],
    [
      "a cycle behind a chain",
      [node("ns/a", "a", ["base"]), node("ns/p", "p", ["a", "r"]), node("ns/q", "q", ["p"]), node("ns/r", "r", ["q"])],
      ["ns/p", "ns/q", "ns/r", "ns/p"],
    ],
  ])("given %s, when checked, then the cycle is named", (_name, nodes, cycle) => {
    expect(findCycle(buildGraph(nodes))).toEqual(cycle);
  });

  it("given a diamond, when checked, then there is no cycle", () => {
    expect(findCycle(diamond)).toBeUndefined();
  });

  it("given a diamond with a queued build, when planned, then the compact plan's positions give the same builds as its waves", () => {
    const state: PlanState = { ...noState, queuedBuild: (k) => (k === "ns/c" ? "c-3" : undefined) };
    const plan = planImageUpdate(diamond, { image: img("base"), digest: D1 }, state);
    expect(plan.size).toBe(4);
    expect(plan.waveCount).toBe(3);
    expect([0, 1, 2, 3].map((w) => plan.waveStart(w))).toEqual([0, 1, 3, 4]);
    const read = Array.from({ length: plan.size }, (_, p) => ({
      key: plan.key(p),
      wave: plan.wave(p),
      reason: plan.reason(p),
      upstreams: [...plan.upstreams(p)].map((u) => plan.key(u)),
      coalesceInto: plan.coalesceInto(p),
    }));
    expect(read).toEqual([
      { key: "ns/a", wave: 0, reason: `base ${img("base")} changed to ${D1}`, upstreams: [], coalesceInto: undefined },
      { key: "ns/b", wave: 1, reason: `base ${img("a")} is rebuilt by ns/a`, upstreams: ["ns/a"], coalesceInto: undefined },
      { key: "ns/c", wave: 1, reason: `base ${img("a")} is rebuilt by ns/a`, upstreams: ["ns/a"], coalesceInto: "c-3" },
      { key: "ns/d", wave: 2, reason: `base ${img("b")} is rebuilt by ns/b`, upstreams: ["ns/b", "ns/c"], coalesceInto: undefined },
    ]);
    expect(plan.waves.flat().map((b) => [b.key, b.wave, b.reason, b.dependsOn, b.coalesceInto])).toEqual(
      read.map((r) => [r.key, r.wave, r.reason, r.upstreams, r.coalesceInto]),
    );
    expect(JSON.parse(JSON.stringify(plan))).toEqual({ waves: plan.waves, skipped: [] });
  });

  it("given a node that follows one image produced by two BuildConfigs, when both rebuild, then it waits for both", () => {
    const g = buildGraph([node("ns/p1", "shared", ["base"]), node("ns/p2", "shared", ["base"]), node("ns/x", "x", ["shared"])]);
    const plan = planImageUpdate(g, { image: img("base"), digest: D1 }, noState);
    expect(keys(plan.waves)).toEqual([["ns/p1", "ns/p2"], ["ns/x"]]);
    expect([...plan.upstreams(2)]).toEqual([0, 1]);
  });

  it("given a base followed by thousands of BuildConfigs named in no order, when it changes, then each wave lists them in key order", () => {
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const names = Array.from({ length: 3000 }, (_, i) => `ns${Math.floor(rand() * 40)}/app-${Math.floor(rand() * 1e6)}-${i}${i % 7 === 0 ? "é" : ""}`);
    // Half follow the base, half follow one of the first half: two waves of about 1,500 each.
    const nodes = names.map((k, i) => node(k, `o${i}`, [i % 2 === 0 ? "base" : `o${(i - 1) - ((i - 1) % 2)}`]));
    const plan = planImageUpdate(buildGraph([...nodes].reverse()), { image: img("base"), digest: D1 }, noState);
    const first = names.filter((_, i) => i % 2 === 0);
    const second = names.filter((_, i) => i % 2 === 1);
    expect(keys(plan.waves)).toEqual([[...first].sort(), [...second].sort()]);
  });

  it("given a long chain, when planned, then each link is its own wave and the search does not overflow", () => {
    const n = 5000;
    const nodes = Array.from({ length: n }, (_, i) => node(`ns/n${i}`, `n${i}`, [i === 0 ? "base" : `n${i - 1}`]));
    const g = buildGraph(nodes);
    expect(findCycle(g)).toBeUndefined();
    const plan = planImageUpdate(g, { image: img("base"), digest: D1 }, noState);
    expect(plan.waves.length).toBe(n);
  });
});

/**
 * The planner's guarantees restated the slow way, as a reference: the closure breadth first from
 * the roots (a node's reason comes from the first node that reaches it), each planned node's wave
 * the longest path to it from a node with no upstream in the closure, waves in key order, nodes
 * on a cycle (or behind one) skipped.
 */
function referencePlan(nodes: GraphNode[], roots: { key: string; reason: string }[], state: PlanState) {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const reason = new Map<string, string>();
  const queue: string[] = [];
  for (const r of roots) if (byKey.has(r.key) && !reason.has(r.key)) (reason.set(r.key, r.reason), queue.push(r.key));
  for (let q = 0; q < queue.length; q++) {
    const u = byKey.get(queue[q]!)!;
    for (const n of nodes) {
      if (u.output && n.follows.includes(u.output) && !reason.has(n.key)) (reason.set(n.key, `base ${u.output} is rebuilt by ${u.key}`), queue.push(n.key));
    }
  }
  const ups = (k: string) => queue.filter((u) => u !== k && byKey.get(u)!.output !== undefined && byKey.get(k)!.follows.includes(byKey.get(u)!.output!));
  const level = new Map<string, number>();
  const levelOf = (k: string, seen: Set<string>): number => {
    if (level.has(k)) return level.get(k)!;
    if (seen.has(k)) return Infinity;
    seen.add(k);
    const l = Math.max(0, ...ups(k).map((u) => levelOf(u, seen) + 1));
    seen.delete(k);
    level.set(k, l);
    return l;
  };
  const waves: { key: string; reason: string; dependsOn: string[]; coalesceInto?: string }[][] = [];
  const skipped: string[] = [];
  for (const k of queue) {
    const l = levelOf(k, new Set());
    if (l === Infinity) {
      skipped.push(k);
      continue;
    }
    while (waves.length <= l) waves.push([]);
    const q = state.queuedBuild(k);
    waves[l]!.push({ key: k, reason: reason.get(k)!, dependsOn: ups(k).sort(), ...(q ? { coalesceInto: q } : {}) });
  }
  for (const w of waves) w.sort((a, b) => (a.key < b.key ? -1 : 1));
  return { waves, skipped };
}

describe("planner, against a reference on random graphs", () => {
  it("given 300 random graphs with diamonds, shared outputs and cycles, when roots are planned, then every plan equals the reference", () => {
    let seed = 42;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let planned = 0;
    let cycles = 0;
    for (let g = 0; g < 300; g++) {
      const n = 2 + Math.floor(rand() * 30);
      // Mostly a DAG (a node follows earlier outputs; one in ten shares an earlier node's output),
      // with a back edge now and then, which makes a cycle.
      const out = (i: number) => (i % 10 === 9 ? `o${i - 1}` : `o${i}`);
      const nodes = Array.from({ length: n }, (_, i) => {
        const follows = [0, 1].filter(() => rand() < 0.7).map(() => (i === 0 || rand() < 0.1 ? "ext" : out(rand() < 0.04 ? i + Math.floor(rand() * (n - i)) : Math.floor(rand() * i))));
        return node(`ns/n${i}`, rand() < 0.95 ? out(i) : undefined, [...new Set(follows)]);
      });
      const state: PlanState = { ...noState, queuedBuild: (k) => (k.endsWith("3") ? `${k.slice(3)}-1` : undefined) };
      const roots = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, r) => ({ key: `ns/n${Math.floor(rand() * n)}`, reason: `root ${r}` }));
      const plan = planClosure(buildGraph(nodes), roots, state);
      const ref = referencePlan(nodes, roots, state);
      expect(plan.waves.map((w) => w.map(({ wave: _w, ...b }) => ({ ...b, dependsOn: [...b.dependsOn].sort() })))).toEqual(ref.waves);
      expect(plan.skipped.map((s) => s.key).sort()).toEqual(ref.skipped.sort());
      for (let p = 0; p < plan.size; p++) for (const u of plan.upstreams(p)) expect(u).toBeLessThan(p);
      planned += plan.size;
      cycles += ref.skipped.length;
    }
    expect(planned).toBeGreaterThan(1000);
    expect(cycles).toBeGreaterThan(20);
  });
});

function bc(spec: Record<string, unknown>, name = "app"): BuildConfig {
  const r = checkBuildConfig({ apiVersion: "build.openshift.io/v1", kind: "BuildConfig", metadata: { name, namespace: "ns" }, spec });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}
const resolve = (ref: { kind: string; name: string }) => (ref.kind === "DockerImage" ? ref.name : `${R}/ns/${ref.name}`);

describe("graphNode", () => {
  const out = { to: { kind: "DockerImage", name: `${R}/ns/app:1` } };
  it.each([
    [
      "an ImageChange trigger without from follows every external FROM of the inline Dockerfile, ARGs resolved",
      { source: { dockerfile: "ARG V=20\nFROM node:${V} AS build\nFROM build\nFROM alpine:3\n" }, strategy: { type: "Docker" }, output: out, triggers: [{ type: "ImageChange" }] },
      ["docker.io/library/node:20", "docker.io/library/alpine:3"],
    ],
    [
      "dockerStrategy.from replaces the last FROM",
      {
        source: { dockerfile: "FROM golang:1.22 AS b\nFROM scratch\n" },
        strategy: { type: "Docker", dockerStrategy: { from: { kind: "DockerImage", name: "debian:12" } } },
        output: out,
        triggers: [{ type: "ImageChange" }],
      },
      ["docker.io/library/debian:12", "docker.io/library/golang:1.22"],
    ],
    [
      "an explicit from is followed as given",
      { strategy: { type: "Docker" }, output: out, triggers: [{ type: "ImageChange", imageChange: { from: { kind: "ImageStreamTag", name: "base:v1" } } }] },
      [`${R}/ns/base:v1`],
    ],
    [
      "a paused trigger follows nothing",
      { source: { dockerfile: "FROM node:20\n" }, strategy: { type: "Docker" }, output: out, triggers: [{ type: "ImageChange", imageChange: { paused: true } }] },
      [],
    ],
    [
      "no ImageChange trigger follows nothing",
      { source: { dockerfile: "FROM node:20\n" }, strategy: { type: "Docker" }, output: out, triggers: [] },
      [],
    ],
  ])("%s", (_name, spec, follows) => {
    const n = graphNode(bc(spec), { resolve });
    expect(n.follows).toEqual(follows);
    expect(n.output).toBe(`${R}/ns/app:1`);
    expect(n.key).toBe("ns/app");
  });

  it("uses the bases the last build recorded when the Dockerfile lives in the repository", () => {
    const n = graphNode(bc({ strategy: { type: "Docker" }, output: out, triggers: [{ type: "ImageChange" }] }), {
      resolve,
      recordedBases: [`${R}/ns/base:latest`, "busybox"],
    });
    expect(n.follows).toEqual([`${R}/ns/base:latest`, "docker.io/library/busybox:latest"]);
  });
});
