/**
 * Benchmark: the pure planner at scale, indexed against a naive scan.
 *
 * For estates of 1k, 10k and 100k BuildConfigs (`generateEstate` in
 * `estate.ts`: synthetic, seeded, shaped like a real estate) it measures, per
 * event:
 * - git push, indexed: the runtime's `RepositoryIndex` (built once: normalised
 *   URL -> BuildConfigs) gives the repository's BuildConfigs, `matchGitEvent`
 *   runs over those only, then `planClosure` over the graph;
 * - git push, naive: `matchGitEvent` over every BuildConfig, then the closure
 *   and waves by fixed point over every node (no prebuilt index);
 * - image update, indexed: `planImageUpdate`, which gives a compact plan,
 *   timed three ways: the plan alone; the plan and every planned build read
 *   through the accessors `Planning.submit` reads (key, reason, upstream
 *   positions, coalescing), which is what the runtime consumes and what the
 *   targets are checked on; the plan and its PlannedBuild objects (what
 *   `cascade plan` and the API answer);
 * - image update, naive: the followers by scanning every node, then the same
 *   fixed point, giving PlannedBuild objects.
 * Both planners must give the same plan (keys and dependencies per wave, the
 * skipped keys) on a sample of events before anything is timed.
 *
 * Each size runs in its own child process, so that its resident memory is its
 * own. Prints one JSON summary line, then a table on stderr.
 * Usage: node --expose-gc dist/bench/plan-scale.js [SIZE...]   (default 1000 10000 100000)
 */
import { spawnSync } from "node:child_process";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { bcKey, checkBuildConfig, type BuildConfig, type ObjectReference } from "../src/core/buildconfig.js";
import type { GitRefEvent } from "../src/core/events-in.js";
import { graphNode } from "../src/core/graph-nodes.js";
import { normalizeImageRef } from "../src/core/image-ref.js";
import { matchGitEvent, RepositoryIndex } from "../src/core/match.js";
import {
  buildGraph,
  findCycle,
  planClosure,
  planImageUpdate,
  type CompactPlan,
  type GraphNode,
  type ImageGraph,
  type Plan,
  type PlanState,
  type PlannedBuild,
  type Root,
} from "../src/core/planner.js";
import { EXTERNAL_BASES, generateEstate, pushEvents as pushEventsOf, Rng } from "./estate.js";

// ---------------------------------------------------------------------------
// Settings

const PUSH_EVENTS = 1000;
const IMAGE_EVENTS = 200;
/** Naive runs per event kind: all of them up to 10k BuildConfigs would take minutes, so fewer. */
const naiveCounts = (n: number) => (n <= 1_000 ? { push: 1000, image: 200 } : n <= 10_000 ? { push: 200, image: 100 } : { push: 20, image: 20 });
/** Events checked naive == indexed before timing, per kind. */
const checkCounts = (n: number) => (n <= 10_000 ? { push: 200, image: 30 } : { push: 20, image: 5 });
const TARGETS = { pushP99Ms: 5, base10P99Ms: 50, speedup: 50, rssMiB: 1024 };

const gc = (globalThis as { gc?: () => void }).gc;
const collect = () => {
  if (gc) {
    gc();
    gc();
  }
};

// ---------------------------------------------------------------------------
// The indexed planner: the runtime's repository index (built once), the graph's own indexes.

function indexedPush(graph: ImageGraph, index: RepositoryIndex, event: GitRefEvent, state: PlanState): CompactPlan {
  const configs = index.configsFor(event.repository.urls);
  const m = matchGitEvent(event, configs);
  const plan = planClosure(graph, m.matched.map((x) => ({ key: bcKey(x.config), reason: x.reason })), state);
  plan.skipped.push(...m.skipped.map((x) => ({ key: bcKey(x.config), reason: x.reason })));
  return plan;
}

// ---------------------------------------------------------------------------
// The naive planner: every event scans every BuildConfig, nothing prebuilt.

/**
 * The closure of `roots` by fixed point over every node (add each node that
 * follows the output of a node in the plan, until nothing changes), then each
 * node's wave by fixed point (1 + the latest wave of its upstreams in the plan).
 */
function naiveClosure(nodes: readonly GraphNode[], roots: readonly Root[], state: PlanState, skipped: Plan["skipped"] = []): Plan {
  const reason = new Map<string, string>();
  const outputs = new Set<string>();
  const rootReason = new Map<string, string>();
  for (const r of roots) if (!rootReason.has(r.key)) rootReason.set(r.key, r.reason);
  for (const n of nodes) {
    const why = rootReason.get(n.key);
    if (why === undefined) continue;
    reason.set(n.key, why);
    if (n.output) outputs.add(n.output);
  }
  for (let changed = reason.size > 0; changed; ) {
    changed = false;
    for (const n of nodes) {
      if (reason.has(n.key)) continue;
      const f = n.follows.find((img) => outputs.has(img));
      if (f === undefined) continue;
      reason.set(n.key, `base ${f} is rebuilt`);
      if (n.output) outputs.add(n.output);
      changed = true;
    }
  }
  const plan = nodes.filter((n) => reason.has(n.key));
  const producers = new Map<string, string[]>();
  for (const n of plan) if (n.output) producers.set(n.output, [...(producers.get(n.output) ?? []), n.key]);
  const ups = new Map<string, string[]>();
  for (const n of plan) ups.set(n.key, [...new Set(n.follows.flatMap((img) => producers.get(img) ?? []))].filter((k) => k !== n.key));
  const level = new Map<string, number>(plan.map((n) => [n.key, 0]));
  let passes = 0;
  for (let changed = true; changed && passes <= plan.length; passes++) {
    changed = false;
    for (const n of plan) {
      let l = 0;
      for (const u of ups.get(n.key)!) l = Math.max(l, level.get(u)! + 1);
      if (l !== level.get(n.key)) {
        level.set(n.key, l);
        changed = true;
      }
    }
  }
  const waves: PlannedBuild[][] = [];
  for (const n of plan) {
    const l = level.get(n.key)!;
    if (l > plan.length) {
      skipped.push({ key: n.key, reason: "part of an ImageChange cycle; not planned" });
      continue;
    }
    const q = state.queuedBuild(n.key);
    while (waves.length <= l) waves.push([]);
    waves[l]!.push({ key: n.key, wave: l, reason: reason.get(n.key)!, dependsOn: ups.get(n.key)!, ...(q ? { coalesceInto: q } : {}) });
  }
  for (const w of waves) w.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { waves, skipped };
}

function naivePush(nodes: readonly GraphNode[], configs: readonly BuildConfig[], event: GitRefEvent, state: PlanState): Plan {
  const m = matchGitEvent(event, configs);
  const plan = naiveClosure(nodes, m.matched.map((x) => ({ key: bcKey(x.config), reason: x.reason })), state);
  plan.skipped.push(...m.skipped.map((x) => ({ key: bcKey(x.config), reason: x.reason })));
  return plan;
}

function naiveImageUpdate(nodes: readonly GraphNode[], event: { image: string; digest: string }, state: PlanState): Plan {
  const roots: Root[] = [];
  const skipped: Plan["skipped"] = [];
  for (const n of nodes) {
    if (!n.follows.includes(event.image)) continue;
    const last = state.lastDigest(n.key, event.image);
    if (last === event.digest) skipped.push({ key: n.key, reason: `already built from ${event.image}@${event.digest}` });
    else roots.push({ key: n.key, reason: `base ${event.image} changed to ${event.digest}${last ? ` (was ${last})` : ""}` });
  }
  return naiveClosure(nodes, roots, state, skipped);
}

/** What must be equal: the keys of each wave, each build's upstreams and coalescing, the skipped keys. */
function planShape(p: Plan): string {
  return JSON.stringify({
    waves: p.waves.map((w) => w.map((b) => [b.key, [...b.dependsOn].sort(), b.coalesceInto ?? null])),
    skipped: p.skipped.map((s) => s.key).sort(),
  });
}

// ---------------------------------------------------------------------------
// Measurement

interface Latency {
  events: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

function latency(ms: number[]): Latency {
  const s = [...ms].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.max(0, Math.ceil(p * s.length) - 1)]!;
  const r = (x: number) => Number(x.toFixed(4));
  return { events: s.length, p50Ms: r(rank(0.5)), p99Ms: r(rank(0.99)), meanMs: r(s.reduce((a, b) => a + b, 0) / s.length), maxMs: r(s.at(-1)!) };
}

/** Timed windows, to attribute garbage collections to the events they interrupted. */
const windows: { name: string; start: number; end: number }[] = [];

function time<T>(events: readonly T[], run: (e: T) => unknown, name?: string): number[] {
  const out: number[] = [];
  const start = performance.now();
  for (const e of events) {
    const t0 = performance.now();
    run(e);
    out.push(performance.now() - t0);
  }
  if (name) windows.push({ name, start, end: performance.now() });
  return out;
}

const gcs: { start: number; ms: number; major: boolean }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcs.push({ start: e.startTime, ms: e.duration, major: (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR });
  }
}).observe({ entryTypes: ["gc"] });

/** Collections that started inside each named timed window: count and pause time, minor and major. */
function gcPerWindow() {
  const out: Record<string, { minor: number; minorMs: number; major: number; majorMaxMs: number }> = {};
  for (const w of windows) {
    const inside = gcs.filter((g) => g.start >= w.start && g.start <= w.end);
    const minor = inside.filter((g) => !g.major);
    const major = inside.filter((g) => g.major);
    out[w.name] = {
      minor: minor.length,
      minorMs: Number(minor.reduce((a, g) => a + g.ms, 0).toFixed(1)),
      major: major.length,
      majorMaxMs: Number(Math.max(0, ...major.map((g) => g.ms)).toFixed(1)),
    };
  }
  return out;
}

const digestOf = (i: number) => `sha256:${i.toString(16).padStart(64, "0")}`;
const mib = (b: number) => Number((b / 2 ** 20).toFixed(1));

async function runSize(n: number) {
  const log = (s: string) => process.stderr.write(`[${n}] ${s}\n`);
  const rssStart = process.memoryUsage().rss;
  let t0 = performance.now();
  const estate = generateEstate(n, 0xc45cade ^ n);
  const generateMs = performance.now() - t0;

  t0 = performance.now();
  const configs: BuildConfig[] = estate.raw.map((r) => {
    const c = checkBuildConfig(r);
    if (!c.ok) throw new Error(`generated BuildConfig is invalid: ${JSON.stringify(c.errors)}`);
    return c.config;
  });
  const parseMs = performance.now() - t0;
  estate.raw.length = 0;

  const resolve = (ref: ObjectReference, ns: string) => (ref.kind === "DockerImage" ? ref.name : `${ref.namespace ?? ns}/${ref.name}`);
  t0 = performance.now();
  const nodes = configs.map((c) => graphNode(c, { resolve }));
  const graphNodesMs = performance.now() - t0;
  t0 = performance.now();
  const graph = buildGraph(nodes);
  const buildGraphMs = performance.now() - t0;
  t0 = performance.now();
  const index = new RepositoryIndex(configs);
  const repoIndexMs = performance.now() - t0;
  t0 = performance.now();
  const cycle = findCycle(graph);
  const findCycleMs = performance.now() - t0;
  if (cycle) throw new Error(`the generated estate has a cycle: ${cycle.join(" -> ")}`);
  if (graph.nodes.size !== n) throw new Error(`expected ${n} nodes, got ${graph.nodes.size}`);

  // State: most BuildConfigs built before (from other digests); 1% have a queued build that events coalesce into.
  const rng = new Rng(0x5eed ^ n);
  const queued = new Map<string, string>();
  const lastBuilt = new Set<string>();
  for (const node of nodes) {
    if (rng.chance(0.01)) queued.set(node.key, `${node.key.split("/")[1]}-${rng.int(50) + 1}`);
    if (rng.chance(0.95)) lastBuilt.add(node.key);
  }
  const OLD = digestOf(0xdead);
  // As the runtime gives it: queued builds also as a whole, so that coalescing costs the queued builds, not the plan.
  const state: PlanState = {
    lastDigest: (key) => (lastBuilt.has(key) ? OLD : undefined),
    queuedBuild: (key) => queued.get(key),
    queuedBuilds: () => queued,
  };

  collect();
  const mem = process.memoryUsage();
  log(`estate and graph built: rss ${mib(mem.rss)} MiB, heap ${mib(mem.heapUsed)} MiB`);

  // Estate shape: depth (longest chain of BuildConfigs) and diamonds as the graph sees them.
  const depth = new Map<string, number>();
  const depthOf = (key: string): number => {
    const d = depth.get(key);
    if (d !== undefined) return d;
    const node = graph.nodes.get(key)!;
    let best = 1;
    for (const img of node.follows) for (const p of graph.producers.get(img) ?? []) if (p !== key) best = Math.max(best, depthOf(p) + 1);
    depth.set(key, best);
    return best;
  };
  const depthHistogram: Record<string, number> = {};
  for (const key of graph.nodes.keys()) depthHistogram[depthOf(key)] = (depthHistogram[depthOf(key)] ?? 0) + 1;
  const internalBases = (node: GraphNode) => node.follows.filter((img) => graph.producers.has(img)).length;
  const diamondNodes = nodes.filter((x) => internalBases(x) >= 2).length;

  // Image events: closure size of every external base, as the planner sees it.
  const planned = (p: Plan) => p.waves.reduce((a, w) => a + w.length, 0);
  const noState: PlanState = { lastDigest: () => undefined, queuedBuild: () => undefined };
  const externals = [...new Set(EXTERNAL_BASES.map((b) => normalizeImageRef(b)))]
    .map((image) => ({ image, closure: planned(planImageUpdate(graph, { image, digest: digestOf(1) }, noState)) }))
    .sort((a, b) => b.closure - a.closure);
  const base10 = [...externals].sort((a, b) => Math.abs(a.closure - n / 10) - Math.abs(b.closure - n / 10))[0]!;
  const typical = externals[Math.floor(externals.length / 2)]!;
  const internal = estate.teamOutputs.map((x) => normalizeImageRef(x));
  const internalClosures = internal.map((image) => planned(planImageUpdate(graph, { image, digest: digestOf(1) }, noState))).sort((a, b) => a - b);

  let seq = 2;
  const imageEvents = (pick: () => string, count: number) => Array.from({ length: count }, () => ({ image: pick(), digest: digestOf(seq++) }));
  const erng = new Rng(0xe7e7 ^ n);
  const imageKinds = {
    base10: (count: number) => imageEvents(() => base10.image, count),
    typicalBase: (count: number) => imageEvents(() => typical.image, count),
    internalBase: (count: number) => imageEvents(() => erng.pick(internal), count),
  };

  const pushEvents = (count: number) => pushEventsOf(estate, erng, count);

  // Same inputs, same outputs: naive and indexed plans agree before anything is timed.
  const cc = checkCounts(n);
  let checkedPlans = 0;
  let checkedBuilds = 0;
  const agree = (a: Plan, b: Plan, what: string) => {
    if (planShape(a) !== planShape(b)) throw new Error(`naive and indexed plans differ for ${what}`);
    checkedPlans++;
    checkedBuilds += planned(a);
  };
  for (const e of pushEvents(cc.push)) agree(indexedPush(graph, index, e, state), naivePush(nodes, configs, e, state), `push ${e.repository.urls[0]} ${e.ref}`);
  for (const kind of Object.values(imageKinds))
    for (const e of kind(cc.image)) agree(planImageUpdate(graph, e, state), naiveImageUpdate(nodes, e, state), `image ${e.image}`);
  log(`naive and indexed agree on ${checkedPlans} plans (${checkedBuilds} planned builds)`);

  // Timing. Warm up first (JIT), then the measured events. Three ways to take an image update's plan:
  // - plan: `planImageUpdate`, the compact plan;
  // - plan + read: and every planned build read through the accessors `Planning.submit` uses
  //   (key, reason, upstream positions, coalescing): what the runtime consumes from the planner;
  // - plan + objects: and the plan materialised as PlannedBuild objects, as `cascade plan` and the API do.
  // The keys and reasons read are kept (as references) in a preallocated array, so that no read is dead code.
  const sink: unknown[] = new Array<unknown>(n).fill(undefined);
  let checksum = 0;
  const readAll = (plan: CompactPlan) => {
    let sum = 0;
    for (let p = 0; p < plan.size; p++) {
      sink[p] = plan.key(p);
      sink[n - 1 - p] = plan.reason(p);
      for (let k = 0, u = plan.upstreamCount(p); k < u; k++) sum = (sum + plan.upstream(p, k)) & 0xffff;
      if (plan.coalesceInto(p) !== undefined) sum = (sum + 1) & 0xffff;
    }
    checksum ^= sum;
    return plan;
  };
  const objects = (plan: CompactPlan) => (checksum ^= plan.waves.length);
  const pushes = pushEvents(PUSH_EVENTS);
  const images = { base10: imageKinds.base10(IMAGE_EVENTS), typicalBase: imageKinds.typicalBase(IMAGE_EVENTS), internalBase: imageKinds.internalBase(IMAGE_EVENTS) };
  type ImageKind = keyof typeof images;
  const kinds = Object.keys(images) as ImageKind[];
  time(pushEvents(300), (e) => readAll(indexedPush(graph, index, e, state)));
  for (const k of kinds) {
    time(images[k].slice(0, 20), (e) => planImageUpdate(graph, e, state));
    time(images[k].slice(0, 20), (e) => readAll(planImageUpdate(graph, e, state)));
  }
  collect();
  const pushPlanned = pushes.map((e) => indexedPush(graph, index, e, state).size);
  collect();
  const planMs = {} as Record<ImageKind, number[]>;
  const readMs = {} as Record<ImageKind | "push", number[]>;
  readMs.push = time(pushes, (e) => readAll(indexedPush(graph, index, e, state)), "push");
  for (const k of kinds) planMs[k] = time(images[k], (e) => planImageUpdate(graph, e, state), `${k}:plan`);
  for (const k of kinds) readMs[k] = time(images[k], (e) => readAll(planImageUpdate(graph, e, state)), `${k}:read`);
  const peakRssIndexed = process.resourceUsage().maxRSS * 1024;
  for (const k of kinds) time(images[k].slice(0, 20), (e) => objects(planImageUpdate(graph, e, state)));
  collect();
  const objectsMs = {} as Record<ImageKind, number[]>;
  for (const k of kinds) objectsMs[k] = time(images[k], (e) => objects(planImageUpdate(graph, e, state)), `${k}:objects`);
  const peakRssObjects = process.resourceUsage().maxRSS * 1024;
  const lat = <K extends string>(m: Record<K, number[]>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, latency(v as number[])])) as Record<K, Latency>;
  const indexed = { plan: lat(planMs), read: lat(readMs), objects: lat(objectsMs) };
  log(`indexed: push p99 ${indexed.read.push.p99Ms} ms, 10% base p99 ${indexed.plan.base10.p99Ms} ms (plan), ${indexed.read.base10.p99Ms} ms (plan + read), ${indexed.objects.base10.p99Ms} ms (plan + objects)`);
  const nc = naiveCounts(n);
  time(pushEvents(3), (e) => naivePush(nodes, configs, e, state));
  collect();
  const naiveMs = {
    push: time(pushes.slice(0, nc.push), (e) => naivePush(nodes, configs, e, state)),
    base10: time(images.base10.slice(0, nc.image), (e) => naiveImageUpdate(nodes, e, state)),
    typicalBase: time(images.typicalBase.slice(0, nc.image), (e) => naiveImageUpdate(nodes, e, state)),
    internalBase: time(images.internalBase.slice(0, nc.image), (e) => naiveImageUpdate(nodes, e, state)),
  };
  const naive = lat(naiveMs);
  log(`naive: push p50 ${naive.push.p50Ms} ms, 10% base p50 ${naive.base10.p50Ms} ms`);
  // Speedup on the same events: the naive p50 (mean) over its events against the indexed p50 (mean) over those same events.
  const ratio = (naiveK: number[], indexedK: number[]) => {
    const a = latency(naiveK);
    const b = latency(indexedK.slice(0, a.events));
    return { p50: Number((a.p50Ms / b.p50Ms).toFixed(1)), mean: Number((a.meanMs / b.meanMs).toFixed(1)) };
  };
  const speedup = {
    push: ratio(naiveMs.push, readMs.push),
    plan: Object.fromEntries(kinds.map((k) => [k, ratio(naiveMs[k], planMs[k])])) as Record<ImageKind, { p50: number; mean: number }>,
    read: Object.fromEntries(kinds.map((k) => [k, ratio(naiveMs[k], readMs[k])])) as Record<ImageKind, { p50: number; mean: number }>,
    objects: Object.fromEntries(kinds.map((k) => [k, ratio(naiveMs[k], objectsMs[k])])) as Record<ImageKind, { p50: number; mean: number }>,
  };
  if (checksum === -1) log("unreachable"); // keep the reads alive
  pushPlanned.sort((a, b) => a - b);
  await new Promise((r) => setTimeout(r, 100)); // let the GC observer deliver its entries
  return {
    size: n,
    estate: {
      ...estate.stats,
      depthHistogram,
      diamondNodes,
      base10: { image: base10.image, closure: base10.closure, share: Number((base10.closure / n).toFixed(3)) },
      typicalBase: { image: typical.image, closure: typical.closure },
      externalClosures: externals.map((e) => e.closure),
      internalBaseClosure: { p50: internalClosures[Math.floor(internalClosures.length / 2)], max: internalClosures.at(-1) },
      pushPlanned: { p50: pushPlanned[Math.floor(pushPlanned.length / 2)], p99: pushPlanned[Math.ceil(pushPlanned.length * 0.99) - 1], max: pushPlanned.at(-1) },
    },
    buildMs: {
      generate: Math.round(generateMs),
      checkBuildConfig: Math.round(parseMs),
      graphNodes: Math.round(graphNodesMs),
      buildGraph: Number(buildGraphMs.toFixed(1)),
      repoIndex: Number(repoIndexMs.toFixed(1)),
      findCycle: Number(findCycleMs.toFixed(1)),
    },
    memory: {
      gcExposed: gc !== undefined,
      rssStartMiB: mib(rssStart),
      rssMiB: mib(mem.rss),
      heapUsedMiB: mib(mem.heapUsed),
      /** Peak RSS of the process up to the end of the compact timings (plan, plan + read). */
      peakRssIndexedMiB: mib(peakRssIndexed),
      /** Peak RSS after the timings that materialise objects too. */
      peakRssObjectsMiB: mib(peakRssObjects),
    },
    gcDuringIndexed: gcPerWindow(),
    checked: { plans: checkedPlans, plannedBuilds: checkedBuilds },
    indexed,
    naive,
    naiveEvents: nc,
    speedup,
  };
}

type SizeResult = Awaited<ReturnType<typeof runSize>>;

// ---------------------------------------------------------------------------
// Parent: one child per size, then the summary.

function report(results: SizeResult[]) {
  const big = results.find((r) => r.size === 100_000) ?? results.at(-1)!;
  const verdict = (ok: boolean) => (ok ? "ok" : "MISSED");
  const targets = {
    size: big.size,
    pushP99: { ms: big.indexed.read.push.p99Ms, target: TARGETS.pushP99Ms, verdict: verdict(big.indexed.read.push.p99Ms < TARGETS.pushP99Ms) },
    base10P99: { ms: big.indexed.read.base10.p99Ms, target: TARGETS.base10P99Ms, closure: big.estate.base10.closure, verdict: verdict(big.indexed.read.base10.p99Ms < TARGETS.base10P99Ms) },
    speedupPush: { x: big.speedup.push.p50, target: TARGETS.speedup, verdict: verdict(big.speedup.push.p50 >= TARGETS.speedup) },
    speedupBase10: { x: big.speedup.read.base10.p50, target: TARGETS.speedup, verdict: verdict(big.speedup.read.base10.p50 >= TARGETS.speedup) },
    speedupTypicalBase: { x: big.speedup.read.typicalBase.p50, target: TARGETS.speedup, verdict: verdict(big.speedup.read.typicalBase.p50 >= TARGETS.speedup) },
    rss: { mib: big.memory.rssMiB, target: TARGETS.rssMiB, verdict: verdict(big.memory.rssMiB < TARGETS.rssMiB) },
    peakRss: { mib: big.memory.peakRssIndexedMiB, target: TARGETS.rssMiB, verdict: verdict(big.memory.peakRssIndexedMiB < TARGETS.rssMiB) },
  };
  process.stdout.write(JSON.stringify({ node: process.version, results, targets }) + "\n");

  const rows: string[][] = [["", ...results.map((r) => `${r.size.toLocaleString("en")} BCs`)]];
  const row = (label: string, f: (r: SizeResult) => string) => rows.push([label, ...results.map(f)]);
  const ms = (x: number) => (x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(0));
  const lat = (l: Latency) => `${ms(l.p50Ms)} / ${ms(l.p99Ms)}`;
  const gcs = (r: SizeResult, w: string) => {
    const g = r.gcDuringIndexed[w]!;
    return `${g.minor} / ${g.major}${g.major ? ` (${g.majorMaxMs} ms)` : ""}`;
  };
  row("graph: graphNode + buildGraph (ms)", (r) => `${r.buildMs.graphNodes} + ${r.buildMs.buildGraph}`);
  row("repo index; findCycle (ms)", (r) => `${r.buildMs.repoIndex}; ${r.buildMs.findCycle}`);
  row("checkBuildConfig, all (ms)", (r) => `${r.buildMs.checkBuildConfig}`);
  row("RSS; heap used, after estate + graph (MiB)", (r) => `${r.memory.rssMiB}; ${r.memory.heapUsedMiB}`);
  row("peak RSS while planning (MiB): compact; with objects", (r) => `${r.memory.peakRssIndexedMiB}; ${r.memory.peakRssObjectsMiB}`);
  row("push, indexed (plan + read) p50 / p99 (ms)", (r) => lat(r.indexed.read.push));
  row("push, naive p50 / p99 (ms) [events]", (r) => `${lat(r.naive.push)} [${r.naive.push.events}]`);
  row("10% base: closure", (r) => `${r.estate.base10.closure} (${(r.estate.base10.share * 100).toFixed(1)}%)`);
  row("10% base, plan p50 / p99 (ms)", (r) => lat(r.indexed.plan.base10));
  row("10% base, plan + read p50 / p99 (ms)", (r) => lat(r.indexed.read.base10));
  row("10% base, plan + objects p50 / p99 (ms)", (r) => lat(r.indexed.objects.base10));
  row("10% base: GCs minor / major, plan; + read; + objects", (r) => `${gcs(r, "base10:plan")}; ${gcs(r, "base10:read")}; ${gcs(r, "base10:objects")}`);
  row("10% base, naive p50 / p99 (ms) [events]", (r) => `${lat(r.naive.base10)} [${r.naive.base10.events}]`);
  row("typical base: closure", (r) => `${r.estate.typicalBase.closure}`);
  row("typical base, plan + read p50 / p99 (ms)", (r) => lat(r.indexed.read.typicalBase));
  row("typical base, naive p50 / p99 (ms) [events]", (r) => `${lat(r.naive.typicalBase)} [${r.naive.typicalBase.events}]`);
  row("org/team base, plan + read p50 / p99 (ms)", (r) => lat(r.indexed.read.internalBase));
  row("org/team base, naive p50 / p99 (ms) [events]", (r) => `${lat(r.naive.internalBase)} [${r.naive.internalBase.events}]`);
  row("speedup (p50), plan + read: push / 10% / typical / org-team", (r) => `${r.speedup.push.p50}x / ${r.speedup.read.base10.p50}x / ${r.speedup.read.typicalBase.p50}x / ${r.speedup.read.internalBase.p50}x`);
  row("speedup (p50), 10% base: plan; plan + read; plan + objects", (r) => `${r.speedup.plan.base10.p50}x; ${r.speedup.read.base10.p50}x; ${r.speedup.objects.base10.p50}x`);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((x, c) => x.padEnd(widths[c]!)).join(" | ")} |`;
  const out = [line(rows[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)];
  out.push("", `Targets at ${big.size.toLocaleString("en")} BuildConfigs (plan + read, what the runtime consumes):`);
  out.push(`  git push p99 ${targets.pushP99.ms} ms (target < ${TARGETS.pushP99Ms} ms): ${targets.pushP99.verdict}`);
  out.push(`  10% base update p99 ${targets.base10P99.ms} ms, closure ${targets.base10P99.closure} (target < ${TARGETS.base10P99Ms} ms): ${targets.base10P99.verdict}`);
  out.push(`  speedup vs naive, p50: push ${targets.speedupPush.x}x ${targets.speedupPush.verdict}, 10% base ${targets.speedupBase10.x}x ${targets.speedupBase10.verdict}, typical base ${targets.speedupTypicalBase.x}x ${targets.speedupTypicalBase.verdict} (target >= ${TARGETS.speedup}x)`);
  out.push(`  RSS ${targets.rss.mib} MiB after build, peak ${targets.peakRss.mib} MiB while planning (target < ${TARGETS.rssMiB} MiB${big.memory.gcExposed ? "" : ", measured without --expose-gc"}): ${targets.rss.verdict}, ${targets.peakRss.verdict}`);
  process.stderr.write(out.join("\n") + "\n");
}

const childAt = process.argv.indexOf("--child");
if (childAt >= 0) {
  const result = await runSize(Number(process.argv[childAt + 1]));
  process.stdout.write(JSON.stringify(result) + "\n");
} else {
  const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
  const results: SizeResult[] = [];
  for (const n of sizes.length ? sizes : [1_000, 10_000, 100_000]) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--child", String(n)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 64 * 2 ** 20,
    });
    if (child.status !== 0) throw new Error(`size ${n} failed (exit ${child.status ?? child.signal})`);
    results.push(JSON.parse(child.stdout.trim().split("\n").at(-1)!) as SizeResult);
  }
  report(results);
}
