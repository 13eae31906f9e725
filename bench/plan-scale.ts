/**
 * Benchmark: the pure planner at scale, indexed against a naive scan.
 *
 * For estates of 1k, 10k and 100k BuildConfigs (synthetic, seeded, shaped like
 * a real estate: 40 shared external bases, org bases on them, team bases on
 * those, apps on team bases, some services on apps, multi-stage diamonds, git
 * triggers over N/5 repositories) it measures, per event:
 * - git push, indexed: normalise the payload's URLs, look the repository up in
 *   a Map built once (normalised URL -> BuildConfigs), `matchGitEvent` over
 *   that repository's BuildConfigs only, then `planClosure` over the graph;
 * - git push, naive: `matchGitEvent` over every BuildConfig, then the closure
 *   and waves by fixed point over every node (no prebuilt index);
 * - image update, indexed: `planImageUpdate`; naive: the followers by scanning
 *   every node, then the same fixed point.
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
import { normalizeGitUrl } from "../src/core/git-url.js";
import { graphNode } from "../src/core/graph-nodes.js";
import { normalizeImageRef } from "../src/core/image-ref.js";
import { matchGitEvent } from "../src/core/match.js";
import {
  buildGraph,
  findCycle,
  planClosure,
  planImageUpdate,
  type GraphNode,
  type ImageGraph,
  type Plan,
  type PlanState,
  type PlannedBuild,
  type Root,
} from "../src/core/planner.js";

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
// Deterministic randomness

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Index in [0, weights.length) drawn by weight (cumulative weights, ascending). */
  weighted(cumulative: readonly number[]): number {
    const x = this.next() * cumulative[cumulative.length - 1]!;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

// ---------------------------------------------------------------------------
// The synthetic estate

/** 40 shared external bases; popularity follows Zipf (s = 1): the first is used about 23% of the time. */
const EXTERNAL_BASES = [
  "node:20", "python:3.12-slim", "eclipse-temurin:21-jre", "golang:1.22", "nginx:1.27", "alpine:3.20",
  "debian:12-slim", "ubuntu:24.04", "registry.access.redhat.com/ubi9/ubi-minimal:9.4", "registry.access.redhat.com/ubi9/ubi:9.4",
  "node:18", "python:3.11", "ruby:3.3", "php:8.3-fpm", "openjdk:17-slim", "maven:3.9-eclipse-temurin-21",
  "gradle:8-jdk21", "rust:1.80", "mcr.microsoft.com/dotnet/aspnet:8.0", "mcr.microsoft.com/dotnet/sdk:8.0",
  "quay.io/prometheus/busybox:latest", "gcr.io/distroless/static-debian12", "gcr.io/distroless/base-debian12",
  "gcr.io/distroless/java21-debian12", "httpd:2.4", "redis:7", "postgres:16", "haproxy:3.0", "elixir:1.17",
  "erlang:27", "perl:5.40", "tomcat:10-jdk21", "quay.io/keycloak/keycloak:25.0", "amazonlinux:2023",
  "fedora:40", "rockylinux:9", "almalinux:9", "busybox:1.36", "bash:5.2", "docker.io/library/caddy:2",
] as const;

type Tier = "org" | "team" | "app" | "service";
type AppShape = "team" | "org" | "external" | "service" | "diamond" | "s2i";

interface EstateStats {
  configs: number;
  tiers: Record<Tier, number>;
  shapes: Record<AppShape, number>;
  pausedOrNoImageTrigger: number;
  repositories: number;
  maxConfigsPerRepository: number;
  reposWithSeveralBranches: number;
}

interface Estate {
  raw: unknown[];
  stats: EstateStats;
  /** Per repository: its canonical `host/owner/name` and the branches some BuildConfig builds. */
  repos: { host: string; path: string; branches: Set<string> }[];
  /** Output image (as written) of each org and team base, for image events. */
  teamOutputs: string[];
}

function generateEstate(n: number, seed: number): Estate {
  const rng = new Rng(seed);
  const zipf: number[] = [];
  EXTERNAL_BASES.forEach((_, i) => zipf.push((zipf[i - 1] ?? 0) + 1 / (i + 1)));
  const external = () => EXTERNAL_BASES[rng.weighted(zipf)]!;

  const nOrg = Math.max(4, Math.round(n * 0.01));
  const nTeam = Math.max(8, Math.round(n * 0.05));
  const nApp = n - nOrg - nTeam;
  const nTeamsNs = Math.max(4, Math.round(n / 50));
  const nPlatformNs = Math.max(2, Math.round(nOrg / 25));
  const nRepos = Math.max(1, Math.round(n / 5));
  const nGitOrgs = Math.max(2, Math.round(nRepos / 40));

  // Repositories: every one gets a BuildConfig, the rest are spread with a skew (some monorepos hold dozens).
  const repoOf: number[] = [];
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (let k = 0; k < n; k++) repoOf[order[k]!] = k < nRepos ? k : Math.floor(nRepos * Math.pow(rng.next(), 1.5));
  const repos = Array.from({ length: nRepos }, (_, r) => ({
    host: r % 5 === 4 ? "git.example.com" : "github.com",
    path: `org-${r % nGitOrgs}/repo-${r}`,
    branches: new Set<string>(),
    first: undefined as string | undefined,
    count: 0,
  }));

  const uriFor = (r: number): string => {
    const { host, path } = repos[r]!;
    const x = rng.next();
    if (x < 0.5) return `https://${host}/${path}.git`;
    if (x < 0.75) return `git@${host}:${path}.git`;
    if (x < 0.9) return `https://${host}/${path}`;
    if (x < 0.95) return `ssh://git@${host}/${path}.git`;
    return `https://${host.toUpperCase()}/${path.toUpperCase()}.git`; // remote paths compare case-insensitively
  };
  const OTHER_BRANCHES = ["release", "develop", "stable", "release-2.x", "staging"];
  /** `ref` as written (undefined: the default branch), and the branch it names. */
  const refFor = (r: number): { ref: string | undefined; branch: string } => {
    const repo = repos[r]!;
    repo.count++;
    let branch: string;
    if (repo.first === undefined || rng.chance(0.6)) branch = repo.first ?? "main";
    else branch = rng.pick(OTHER_BRANCHES);
    repo.first ??= branch;
    repo.branches.add(branch);
    const x = rng.next();
    const ref = branch === "main" && x < 0.2 ? undefined : x < 0.4 ? `refs/heads/${branch}` : branch;
    return { ref, branch };
  };

  const image = (ns: string, name: string) => `registry.example.com/${ns}/${name}:latest`;
  const raw: unknown[] = [];
  const orgOutputs: string[] = [];
  const teamOutputs: string[] = [];
  const appOutputs: string[] = []; // apps on a team base, which services may build on
  const teamsOfOrg = new Map<number, number[]>();
  const orgOfTeam: (number | undefined)[] = [];
  const shapes: Record<AppShape, number> = { team: 0, org: 0, external: 0, service: 0, diamond: 0, s2i: 0 };
  let noTrigger = 0;

  const push = (
    i: number,
    ns: string,
    name: string,
    from: { strategy: "Docker" | "Source"; base?: string; dockerfile?: string },
    imageTrigger: "follow" | "paused" | "none",
  ) => {
    const { ref } = refFor(repoOf[i]!);
    const x = rng.next();
    const hook = x < 0.92 ? { type: "GitHub", github: { secret: `s3cr3t-${i % 97}` } } : x < 0.96 ? { type: "GitLab", gitlab: { secret: `s3cr3t-${i % 97}` } } : { type: "Generic", generic: { secret: `s3cr3t-${i % 97}` } };
    const triggers: unknown[] = [hook, { type: "ConfigChange" }];
    if (imageTrigger !== "none") triggers.push({ type: "ImageChange", imageChange: imageTrigger === "paused" ? { paused: true } : {} });
    else noTrigger++;
    if (imageTrigger === "paused") noTrigger++;
    const fromRef = from.base ? { from: { kind: "DockerImage", name: from.base } } : {};
    raw.push({
      apiVersion: "build.openshift.io/v1",
      kind: "BuildConfig",
      metadata: { name, namespace: ns, labels: { app: name, "app.kubernetes.io/part-of": ns } },
      spec: {
        source: {
          type: "Git",
          git: { uri: uriFor(repoOf[i]!), ...(ref ? { ref } : {}) },
          contextDir: name,
          ...(from.dockerfile ? { dockerfile: from.dockerfile } : {}),
        },
        strategy: from.strategy === "Source" ? { type: "Source", sourceStrategy: fromRef } : { type: "Docker", dockerStrategy: { ...fromRef, buildArgs: [{ name: "VERSION", value: "1" }] } },
        output: { to: { kind: "DockerImage", name: image(ns, name) } },
        triggers,
        runPolicy: "Serial",
        resources: { limits: { cpu: "1", memory: "1Gi" } },
      },
    });
  };

  let i = 0;
  for (let o = 0; o < nOrg; o++, i++) {
    const ns = `platform-${o % nPlatformNs}`;
    push(i, ns, `base-${o}`, { strategy: "Docker", base: external() }, "follow");
    orgOutputs.push(image(ns, `base-${o}`));
  }
  for (let t = 0; t < nTeam; t++, i++) {
    const ns = `team-${t % nTeamsNs}`;
    let base: string;
    if (rng.chance(0.9)) {
      const o = rng.int(nOrg);
      base = orgOutputs[o]!;
      orgOfTeam[t] = o;
      teamsOfOrg.set(o, [...(teamsOfOrg.get(o) ?? []), t]);
    } else base = external();
    push(i, ns, `teambase-${t}`, { strategy: "Docker", base }, "follow");
    teamOutputs.push(image(ns, `teambase-${t}`));
  }
  for (let a = 0; a < nApp; a++, i++) {
    const ns = `team-${rng.int(nTeamsNs)}`;
    const name = `app-${a}`;
    const trig = rng.chance(0.02) ? "paused" : rng.chance(0.03) ? "none" : "follow";
    const x = rng.next();
    if (x < 0.6 || (x >= 0.76 && x < 0.86 && appOutputs.length === 0)) {
      shapes.team++;
      push(i, ns, name, { strategy: "Docker", base: rng.pick(teamOutputs) }, trig);
      appOutputs.push(image(ns, name));
    } else if (x < 0.68) {
      shapes.org++;
      push(i, ns, name, { strategy: "Docker", base: rng.pick(orgOutputs) }, trig);
    } else if (x < 0.76) {
      shapes.external++;
      push(i, ns, name, { strategy: "Docker", base: external() }, trig);
    } else if (x < 0.86) {
      // Four deep: a service built on an app image (external -> org -> team -> app -> service).
      shapes.service++;
      push(i, ns, name, { strategy: "Docker", base: rng.pick(appOutputs) }, trig);
    } else if (x < 0.92) {
      // Multi-stage: FROM two internal images, which share an upstream (siblings, or a team base and its org base).
      shapes.diamond++;
      const t = rng.int(nTeam);
      const o = orgOfTeam[t];
      const siblings = o === undefined ? [] : (teamsOfOrg.get(o) ?? []).filter((s) => s !== t);
      const first = teamOutputs[t]!;
      const second = siblings.length > 0 && rng.chance(0.6) ? teamOutputs[rng.pick(siblings)]! : o !== undefined ? orgOutputs[o]! : rng.pick(orgOutputs);
      const dockerfile = `ARG VERSION\nFROM ${first} AS build\nRUN make build VERSION=$VERSION\nFROM ${second}\nCOPY --from=build /out/ /app/\nUSER 1001\nCMD ["/app/run"]\n`;
      push(i, ns, name, { strategy: "Docker", dockerfile }, trig);
    } else {
      // S2I on an org builder image.
      shapes.s2i++;
      push(i, ns, name, { strategy: "Source", base: rng.pick(orgOutputs) }, trig);
    }
  }
  const stats: EstateStats = {
    configs: raw.length,
    tiers: { org: nOrg, team: nTeam, app: nApp - shapes.service, service: shapes.service },
    shapes,
    pausedOrNoImageTrigger: noTrigger,
    repositories: nRepos,
    maxConfigsPerRepository: Math.max(...repos.map((r) => r.count)),
    reposWithSeveralBranches: repos.filter((r) => r.branches.size > 1).length,
  };
  return { raw, stats, repos, teamOutputs: [...orgOutputs, ...teamOutputs] };
}

// ---------------------------------------------------------------------------
// The indexed planner: a repository index built once, the graph's own indexes.

/** Normalised URL as `sameRepository` compares it: remote URLs case-insensitively, local paths exactly. */
function repoKey(url: string): string {
  const k = normalizeGitUrl(url);
  return k.startsWith("file://") ? k : k.toLowerCase();
}

function buildRepoIndex(configs: readonly BuildConfig[]): Map<string, BuildConfig[]> {
  const index = new Map<string, BuildConfig[]>();
  for (const c of configs) {
    const uri = c.spec.source?.git?.uri;
    if (!uri) continue;
    let k: string;
    try {
      k = repoKey(uri);
    } catch {
      continue; // an invalid URI matches nothing, as in matchGitEvent
    }
    const l = index.get(k);
    if (l) l.push(c);
    else index.set(k, [c]);
  }
  return index;
}

function indexedPush(graph: ImageGraph, index: Map<string, BuildConfig[]>, ordinal: Map<BuildConfig, number>, event: GitRefEvent, state: PlanState): Plan {
  const keys = new Set<string>();
  for (const u of event.repository.urls) {
    try {
      keys.add(repoKey(u));
    } catch {
      /* not a URL we can match */
    }
  }
  let configs: readonly BuildConfig[] = [];
  const buckets = [...keys].map((k) => index.get(k)).filter((b): b is BuildConfig[] => b !== undefined);
  if (buckets.length === 1) configs = buckets[0]!;
  else if (buckets.length > 1) configs = [...new Set(buckets.flat())].sort((a, b) => ordinal.get(a)! - ordinal.get(b)!);
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
  const index = buildRepoIndex(configs);
  const ordinal = new Map(configs.map((c, i) => [c, i]));
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
  const state: PlanState = {
    lastDigest: (key) => (lastBuilt.has(key) ? OLD : undefined),
    queuedBuild: (key) => queued.get(key),
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

  // Push events: a repository at random, one of its branches (90%) or a feature branch that builds nothing (10%).
  const pushEvents = (count: number): GitRefEvent[] =>
    Array.from({ length: count }, (_, k) => {
      const repo = erng.pick(estate.repos);
      const branch = erng.chance(0.9) ? erng.pick([...repo.branches]) : `feature/f-${erng.int(1000)}`;
      const base = `${repo.host}/${repo.path}`;
      return {
        kind: "git.ref",
        provider: "github",
        deliveryId: `d-${k}`,
        repository: {
          urls: [`https://${base}.git`, `git@${repo.host}:${repo.path}.git`, `git://${base}.git`, `https://${base}`],
          fullName: repo.path,
          defaultBranch: "main",
        },
        ref: `refs/heads/${branch}`,
        refType: "branch",
        refName: branch,
        before: "1".repeat(40),
        after: (k + 1).toString(16).padStart(40, "0"),
        deleted: false,
        created: false,
      };
    });

  // Same inputs, same outputs: naive and indexed plans agree before anything is timed.
  const cc = checkCounts(n);
  let checkedPlans = 0;
  let checkedBuilds = 0;
  const agree = (a: Plan, b: Plan, what: string) => {
    if (planShape(a) !== planShape(b)) throw new Error(`naive and indexed plans differ for ${what}`);
    checkedPlans++;
    checkedBuilds += planned(a);
  };
  for (const e of pushEvents(cc.push)) agree(indexedPush(graph, index, ordinal, e, state), naivePush(nodes, configs, e, state), `push ${e.repository.urls[0]} ${e.ref}`);
  for (const kind of Object.values(imageKinds))
    for (const e of kind(cc.image)) agree(planImageUpdate(graph, e, state), naiveImageUpdate(nodes, e, state), `image ${e.image}`);
  log(`naive and indexed agree on ${checkedPlans} plans (${checkedBuilds} planned builds)`);

  // Timing. Warm up first (JIT), then the measured events.
  const pushes = pushEvents(PUSH_EVENTS);
  const images = { base10: imageKinds.base10(IMAGE_EVENTS), typicalBase: imageKinds.typicalBase(IMAGE_EVENTS), internalBase: imageKinds.internalBase(IMAGE_EVENTS) };
  time(pushEvents(300), (e) => indexedPush(graph, index, ordinal, e, state));
  for (const evs of Object.values(images)) time(evs.slice(0, 20), (e) => planImageUpdate(graph, e, state));
  collect();
  const pushPlanned = pushes.map((e) => planned(indexedPush(graph, index, ordinal, e, state)));
  collect();
  const indexedMs = {
    push: time(pushes, (e) => indexedPush(graph, index, ordinal, e, state), "push"),
    base10: time(images.base10, (e) => planImageUpdate(graph, e, state), "base10"),
    typicalBase: time(images.typicalBase, (e) => planImageUpdate(graph, e, state), "typicalBase"),
    internalBase: time(images.internalBase, (e) => planImageUpdate(graph, e, state), "internalBase"),
  };
  const peakRssIndexed = process.resourceUsage().maxRSS * 1024;
  const indexed = {
    push: latency(indexedMs.push),
    base10: latency(indexedMs.base10),
    typicalBase: latency(indexedMs.typicalBase),
    internalBase: latency(indexedMs.internalBase),
  };
  log(`indexed: push p99 ${indexed.push.p99Ms} ms, 10% base p99 ${indexed.base10.p99Ms} ms`);
  const nc = naiveCounts(n);
  time(pushEvents(3), (e) => naivePush(nodes, configs, e, state));
  collect();
  const naive = {
    push: latency(time(pushes.slice(0, nc.push), (e) => naivePush(nodes, configs, e, state))),
    base10: latency(time(images.base10.slice(0, nc.image), (e) => naiveImageUpdate(nodes, e, state))),
    typicalBase: latency(time(images.typicalBase.slice(0, nc.image), (e) => naiveImageUpdate(nodes, e, state))),
    internalBase: latency(time(images.internalBase.slice(0, nc.image), (e) => naiveImageUpdate(nodes, e, state))),
  };
  log(`naive: push p50 ${naive.push.p50Ms} ms, 10% base p50 ${naive.base10.p50Ms} ms`);
  // Speedup on the same events: the naive p50 (mean) over its events against the indexed p50 (mean) over those same events.
  const speedup = {} as Record<keyof typeof naive, { p50: number; mean: number }>;
  for (const k of Object.keys(naive) as (keyof typeof naive)[]) {
    const same = latency(indexedMs[k].slice(0, naive[k].events));
    speedup[k] = {
      p50: Number((naive[k].p50Ms / same.p50Ms).toFixed(1)),
      mean: Number((naive[k].meanMs / same.meanMs).toFixed(1)),
    };
  }
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
      /** Peak RSS of the process up to the end of the indexed timings (the heap grows with the plans' garbage). */
      peakRssIndexedMiB: mib(peakRssIndexed),
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
    pushP99: { ms: big.indexed.push.p99Ms, target: TARGETS.pushP99Ms, verdict: verdict(big.indexed.push.p99Ms < TARGETS.pushP99Ms) },
    base10P99: { ms: big.indexed.base10.p99Ms, target: TARGETS.base10P99Ms, closure: big.estate.base10.closure, verdict: verdict(big.indexed.base10.p99Ms < TARGETS.base10P99Ms) },
    speedupPush: { x: big.speedup.push.p50, target: TARGETS.speedup, verdict: verdict(big.speedup.push.p50 >= TARGETS.speedup) },
    speedupBase10: { x: big.speedup.base10.p50, target: TARGETS.speedup, verdict: verdict(big.speedup.base10.p50 >= TARGETS.speedup) },
    speedupTypicalBase: { x: big.speedup.typicalBase.p50, target: TARGETS.speedup, verdict: verdict(big.speedup.typicalBase.p50 >= TARGETS.speedup) },
    rss: { mib: big.memory.rssMiB, target: TARGETS.rssMiB, verdict: verdict(big.memory.rssMiB < TARGETS.rssMiB) },
  };
  process.stdout.write(JSON.stringify({ node: process.version, results, targets }) + "\n");

  const rows: string[][] = [["", ...results.map((r) => `${r.size.toLocaleString("en")} BCs`)]];
  const row = (label: string, f: (r: SizeResult) => string) => rows.push([label, ...results.map(f)]);
  const ms = (x: number) => (x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(0));
  const lat = (l: Latency) => `${ms(l.p50Ms)} / ${ms(l.p99Ms)}`;
  row("graph: graphNode + buildGraph (ms)", (r) => `${r.buildMs.graphNodes} + ${r.buildMs.buildGraph}`);
  row("repo index; findCycle (ms)", (r) => `${r.buildMs.repoIndex}; ${r.buildMs.findCycle}`);
  row("checkBuildConfig, all (ms)", (r) => `${r.buildMs.checkBuildConfig}`);
  row("RSS; heap used, after estate + graph (MiB)", (r) => `${r.memory.rssMiB}; ${r.memory.heapUsedMiB}`);
  row("peak RSS while planning, indexed (MiB)", (r) => `${r.memory.peakRssIndexedMiB}`);
  row("push, indexed p50 / p99 (ms)", (r) => lat(r.indexed.push));
  row("push, naive p50 / p99 (ms) [events]", (r) => `${lat(r.naive.push)} [${r.naive.push.events}]`);
  row("10% base: closure", (r) => `${r.estate.base10.closure} (${(r.estate.base10.share * 100).toFixed(1)}%)`);
  row("10% base, indexed p50 / p99 (ms)", (r) => lat(r.indexed.base10));
  row("10% base, indexed: max (ms); GCs minor / major (max pause)", (r) => {
    const g = r.gcDuringIndexed.base10!;
    return `${ms(r.indexed.base10.maxMs)}; ${g.minor} / ${g.major} (${g.majorMaxMs} ms)`;
  });
  row("10% base, naive p50 / p99 (ms) [events]", (r) => `${lat(r.naive.base10)} [${r.naive.base10.events}]`);
  row("typical base: closure", (r) => `${r.estate.typicalBase.closure}`);
  row("typical base, indexed p50 / p99 (ms)", (r) => lat(r.indexed.typicalBase));
  row("typical base, naive p50 / p99 (ms) [events]", (r) => `${lat(r.naive.typicalBase)} [${r.naive.typicalBase.events}]`);
  row("org/team base, indexed p50 / p99 (ms)", (r) => lat(r.indexed.internalBase));
  row("org/team base, naive p50 / p99 (ms) [events]", (r) => `${lat(r.naive.internalBase)} [${r.naive.internalBase.events}]`);
  row("speedup, p50 on the same events: push / 10% / typical / org-team", (r) => `${r.speedup.push.p50}x / ${r.speedup.base10.p50}x / ${r.speedup.typicalBase.p50}x / ${r.speedup.internalBase.p50}x`);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((x, c) => x.padEnd(widths[c]!)).join(" | ")} |`;
  const out = [line(rows[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)];
  out.push("", `Targets at ${big.size.toLocaleString("en")} BuildConfigs:`);
  out.push(`  git push p99 ${targets.pushP99.ms} ms (target < ${TARGETS.pushP99Ms} ms): ${targets.pushP99.verdict}`);
  out.push(`  10% base update p99 ${targets.base10P99.ms} ms, closure ${targets.base10P99.closure} (target < ${TARGETS.base10P99Ms} ms): ${targets.base10P99.verdict}`);
  out.push(`  speedup vs naive, p50: push ${targets.speedupPush.x}x ${targets.speedupPush.verdict}, 10% base ${targets.speedupBase10.x}x ${targets.speedupBase10.verdict}, typical base ${targets.speedupTypicalBase.x}x ${targets.speedupTypicalBase.verdict} (target >= ${TARGETS.speedup}x)`);
  out.push(`  RSS ${targets.rss.mib} MiB (target < ${TARGETS.rssMiB} MiB${big.memory.gcExposed ? "" : ", measured without --expose-gc"}): ${targets.rss.verdict}`);
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
