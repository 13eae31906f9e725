/**
 * Benchmark: planning in the running service, per event, at scale: the
 * runtime's `Planning` (graph and repository index kept across events, keyed
 * on the store's planning revision; per event only the recent builds of the
 * followers, producers or roots and the queued builds of the downstream
 * closure) against the full-scan path it replaced (`FullScanPlanning` below,
 * the previous `Planning` code: every BuildConfig and, per BuildConfig, its
 * last ten builds read to build the graph, every build read for the state,
 * every BuildConfig matched against a push), in the same process, on the same
 * store.
 *
 * The store is SQLite in memory, filled through the Store port with the
 * estate of `estate.ts` (N BuildConfigs), one Complete build for 95% of them
 * (its bases, digests and pushed image recorded) and a queued build for 1%.
 * Events:
 * - push: a GitHub push to a random repository and branch, planned as a dry
 *   run (`planGitEvent`: match, state, plan);
 * - typical base, 10% base: a new digest of the median external base and of
 *   the one closest to 10% of the estate, planned as a dry run (`planImage`);
 * - push, queued: a push matched (the repository's BuildConfigs, or every
 *   one) and queued for real as ingest does (`submitRoots`: last build's
 *   commit, state, plan, builds queued or coalesced);
 * - team base, queued: a new digest of a team base, queued for real
 *   (`imageUpdated`: state, plan, then builds queued or coalesced).
 * Queued events alternate the paths, each on its own repository or team base,
 * so that both queue comparable closures.
 * Both paths must give the same dry-run plans before anything is timed.
 * Each size runs in its own child process; prints a JSON line and a table.
 * Usage: node --expose-gc dist/bench/planning-runtime.js [SIZE...]   (default 10000 100000)
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { pino, type Logger } from "pino";
import { SqliteStore } from "../src/adapters/local/sqlite-store.js";
import type { BuildCause } from "../src/core/build.js";
import { checkBuildConfig, type BuildConfig, type ObjectReference } from "../src/core/buildconfig.js";
import { ConflictError } from "../src/core/errors.js";
import type { GitRefEvent } from "../src/core/events-in.js";
import { graphNode } from "../src/core/graph-nodes.js";
import { normalizeImageRef, parseImageRef } from "../src/core/image-ref.js";
import { matchGitEvent } from "../src/core/match.js";
import { buildGraph, planClosure, planImageUpdate, type ImageGraph, type Plan, type PlanState, type Root } from "../src/core/planner.js";
import type { Clock } from "../src/ports/clock.js";
import type { BuildRequest, Delivery, Store } from "../src/ports/store.js";
import { Builds, sourceInputs } from "../src/runtime/builds.js";
import { Planning, type Submitted } from "../src/runtime/planning.js";
import { EXTERNAL_BASES, generateEstate, pushEvents as pushEventsOf, Rng } from "./estate.js";

// ---------------------------------------------------------------------------
// The full-scan path, as `src/runtime/planning.ts` had it before the estate was kept (planning parts only).

class FullScanPlanning {
  constructor(private readonly o: { store: Store; builds: Builds; clock: Clock; log: Logger; resolve: (ref: ObjectReference, ns: string) => string }) {}

  async graph(configs?: BuildConfig[]): Promise<ImageGraph> {
    const all = configs ?? (await this.o.store.listBuildConfigs()).map((s) => s.config);
    const nodes = [];
    for (const c of all) {
      const recent = await this.o.store.listBuilds({ namespace: c.metadata.namespace ?? "default", buildConfig: c.metadata.name, limit: 10 });
      const withBases = recent.find((b) => b.inputs.bases.length > 0);
      nodes.push(graphNode(c, { resolve: this.o.resolve, recordedBases: withBases?.inputs.bases.map((b) => b.name) ?? [] }));
    }
    return buildGraph(nodes);
  }

  async state(): Promise<PlanState> {
    const last = new Map<string, Map<string, string>>();
    const queued = new Map<string, string>();
    const producers = new Map<string, string>();
    const waitsOn = new Map<string, Set<string>>();
    const all = await this.o.store.listBuilds({ limit: 100_000 });
    for (const b of all) {
      const key = `${b.namespace}/${b.buildConfig}`;
      if (b.phase === "Complete" && b.outputs) {
        const repo = parseImageRef(b.outputs.image);
        for (const tag of b.outputs.tags) producers.set(`${repo.registry}/${repo.repository}:${tag}@${b.outputs.digest}`, `${b.namespace}/${b.id}`);
      }
      for (const d of b.dependsOn ?? []) {
        if (!waitsOn.has(key)) waitsOn.set(key, new Set());
        waitsOn.get(key)!.add(d);
      }
      if (b.phase === "Complete" && !last.has(key)) {
        last.set(key, new Map(b.inputs.bases.filter((x) => x.digest).map((x) => [normalizeImageRef(x.name), x.digest!])));
      }
      if (b.phase === "New" && !queued.has(key)) queued.set(key, b.id);
    }
    return {
      lastDigest: (k, image) => last.get(k)?.get(image),
      queuedBuild: (k) => queued.get(k),
      alreadyPlanned: (k, image, digest) => {
        const producer = producers.get(`${image}@${digest}`);
        return producer && waitsOn.get(k)?.has(producer) ? `already planned after ${producer}, which pushed ${image}@${digest}` : undefined;
      },
    };
  }

  async planImage(image: string, digest: string): Promise<Plan> {
    return planImageUpdate(await this.graph(), { image: normalizeImageRef(image), digest }, await this.state()).materialise();
  }

  async planGitEvent(event: GitRefEvent): Promise<Plan> {
    const configs = (await this.o.store.listBuildConfigs()).map((s) => s.config);
    const m = matchGitEvent(event, configs);
    const plan = planClosure(
      await this.graph(configs),
      m.matched.map((x) => ({ key: `${x.config.metadata.namespace ?? "default"}/${x.config.metadata.name}`, reason: x.reason })),
      await this.state(),
    );
    plan.skipped.push(...m.skipped.map((x) => ({ key: `${x.config.metadata.namespace ?? "default"}/${x.config.metadata.name}`, reason: x.reason })));
    return plan.materialise();
  }

  async imageUpdated(image: string, digest: string, source: string): Promise<Submitted> {
    const name = normalizeImageRef(image);
    const plan = planImageUpdate(await this.graph(), { image: name, digest }, await this.state());
    const now = this.o.clock.now().toISOString();
    return this.submit(plan, (_key, reason) => ({ type: "ImageChange", message: `${reason} (${source})`, image: `${name}@${digest}`, at: now }));
  }

  async planRoots(roots: Root[]) {
    return planClosure(await this.graph(), roots, await this.state());
  }

  /**
   * Queue a plan: new builds wait for their upstreams in the plan; planned
   * BuildConfigs with a queued build get the cause added to it instead.
   */
  async submit(
    plan: Plan,
    causeFor: (key: string, reason: string) => BuildCause,
    opts: {
      delivery?: Delivery;
      inputsFor?: (key: string, c: BuildConfig) => BuildRequest["inputs"] | undefined;
      outputTagsFor?: (key: string) => string[] | undefined;
      envFor?: (key: string) => BuildRequest["env"] | undefined;
      noCoalesce?: Set<string>;
    } = {},
  ): Promise<Submitted> {
    const { store } = this.o;
    // A redelivery changes nothing: not even the causes of queued builds.
    if (opts.delivery) {
      const previous = await store.deliveryBuilds(opts.delivery);
      if (previous) return { builds: previous, coalesced: [], skipped: [], duplicate: true };
    }
    const requests: BuildRequest[] = [];
    const index = new Map<string, number>();
    const existing = new Map<string, string>(); // key -> ns/id of a coalesced build
    const coalesced: Submitted["coalesced"] = [];
    const waitOnNew: { ns: string; id: string; requests: number[] }[] = [];
    for (const p of plan.waves.flat()) {
      const [ns, name] = p.key.split("/") as [string, string];
      const cause = causeFor(p.key, p.reason);
      const after = {
        requests: p.dependsOn.filter((d) => index.has(d)).map((d) => index.get(d)!),
        builds: p.dependsOn.filter((d) => existing.has(d)).map((d) => existing.get(d)!),
      };
      const stored = await store.getBuildConfig(ns, name);
      if (!stored) continue;
      const inputs = opts.inputsFor?.(p.key, stored.config);
      const outputTags = opts.outputTagsFor?.(p.key);
      const env = opts.envFor?.(p.key);
      // A release (tag) build never merges into a branch build: it pushes other tags.
      if (p.coalesceInto && !opts.noCoalesce?.has(p.key) && !outputTags && !env?.length) {
        try {
          const queued = await store.getBuild(ns, p.coalesceInto);
          if (queued) {
            const causes = mergeCauses(queued.causes, cause);
            const dependsOn = [...new Set([...(queued.dependsOn ?? []), ...after.builds])];
            // A newer commit replaces the queued one: the build takes the latest of the events it coalesces.
            await store.updateBuild(
              ns,
              p.coalesceInto,
              { causes, ...(dependsOn.length ? { dependsOn } : {}), ...(inputs?.source?.commit ? { inputs } : {}) },
              ["New"],
            );
            existing.set(p.key, `${ns}/${p.coalesceInto}`);
            coalesced.push({ build: `${ns}/${p.coalesceInto}`, buildConfig: p.key });
            // It must also wait for the upstream builds this plan queues: their ids exist once they are queued.
            if (after.requests.length) waitOnNew.push({ ns, id: p.coalesceInto, requests: after.requests });
            continue;
          }
        } catch (e) {
          if (!(e instanceof ConflictError)) throw e;
          // It started meanwhile: queue a new build below.
        }
      }
      index.set(p.key, requests.length);
      requests.push({
        namespace: ns,
        buildConfig: name,
        causes: [cause],
        inputs: inputs ?? sourceInputs(stored.config),
        ...(outputTags?.length ? { outputTags } : {}),
        ...(env?.length ? { env } : {}),
        ...(after.requests.length || after.builds.length ? { after } : {}),
      });
    }
    const skipped = plan.skipped.map((s) => ({ buildConfig: s.key, reason: s.reason }));
    if (requests.length === 0) {
      const seen = opts.delivery ? await store.recordDelivery(opts.delivery, this.o.clock.now().toISOString()) : { duplicate: false };
      return { builds: [], coalesced, skipped, duplicate: seen.duplicate };
    }
    const res = await this.o.builds.enqueue(requests, opts.delivery);
    for (const w of res.duplicate ? [] : waitOnNew) {
      const queued = await store.getBuild(w.ns, w.id);
      if (!queued || queued.phase !== "New") continue;
      const extra = w.requests.map((i) => `${res.builds[i]!.namespace}/${res.builds[i]!.id}`);
      await store.updateBuild(w.ns, w.id, { dependsOn: [...new Set([...(queued.dependsOn ?? []), ...extra])] }, ["New"]).catch((e) => {
        if (!(e instanceof ConflictError)) throw e;
      });
    }
    return { builds: res.builds, coalesced, skipped, duplicate: res.duplicate };
  }

  /**
   * Build these BuildConfigs for an event (git push, generic hook, manual
   * start), and their downstream closure after them, each once.
   */
  async submitRoots(
    roots: { key: string; reason: string; cause: BuildCause; inputs: BuildRequest["inputs"]; outputTags?: string[]; env?: BuildRequest["env"] }[],
    opts: { delivery?: Delivery; coalesce?: boolean } = {},
  ): Promise<Submitted> {
    // Inputs equal to the last successful build's (same commit; bases are followed by their own
    // triggers) are skipped, with the reason; a manual start always builds, as in OpenShift.
    const unchanged: Plan["skipped"] = [];
    const fresh = [];
    for (const r of roots) {
      const commit = r.inputs.source?.commit;
      const [ns, name] = r.key.split("/") as [string, string];
      const last = commit && r.cause.type !== "Manual" && !r.outputTags
        ? (await this.o.store.listBuilds({ namespace: ns, buildConfig: name, phases: ["Complete"], limit: 1 }))[0]
        : undefined;
      if (last && last.inputs.source?.commit === commit) unchanged.push({ key: r.key, reason: `inputs unchanged: commit ${commit!.slice(0, 12)} was built by ${last.id}` });
      else fresh.push(r);
    }
    const byKey = new Map(fresh.map((r) => [r.key, r]));
    const plan = await this.planRoots(fresh.map((r) => ({ key: r.key, reason: r.reason })));
    plan.skipped.push(...unchanged);
    const now = this.o.clock.now().toISOString();
    return this.submit(
      plan,
      (key, reason) => byKey.get(key)?.cause ?? { type: "ImageChange", message: reason, at: now },
      {
        ...(opts.delivery ? { delivery: opts.delivery } : {}),
        inputsFor: (key) => byKey.get(key)?.inputs,
        outputTagsFor: (key) => byKey.get(key)?.outputTags,
        envFor: (key) => byKey.get(key)?.env,
        ...(opts.coalesce === false ? { noCoalesce: new Set(byKey.keys()) } : {}),
      },
    );
  }
}

function mergeCauses(causes: BuildCause[], cause: BuildCause): BuildCause[] {
  const same = (a: BuildCause) => a.type === cause.type && a.image === cause.image && a.commit === cause.commit && a.ref === cause.ref && a.deliveryId === cause.deliveryId;
  return causes.some(same) ? causes : [...causes, cause];
}

// ---------------------------------------------------------------------------
// Measurement

const gc = (globalThis as { gc?: () => void }).gc;
const mib = (b: number) => Number((b / 2 ** 20).toFixed(1));
const digestOf = (i: number) => `sha256:${i.toString(16).padStart(64, "0")}`;

interface Latency {
  events: number;
  p50Ms: number;
  maxMs: number;
}
function latency(ms: number[]): Latency {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x: number) => Number(x.toFixed(3));
  return { events: s.length, p50Ms: r(s[Math.max(0, Math.ceil(0.5 * s.length) - 1)]!), maxMs: r(s.at(-1)!) };
}
async function time<T>(events: readonly T[], run: (e: T) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (const e of events) {
    const t0 = performance.now();
    await run(e);
    out.push(performance.now() - t0);
  }
  return out;
}

/** What must be equal: the keys of each wave, each build's upstreams and coalescing, the skipped keys and reasons. */
const shape = (p: Plan) =>
  JSON.stringify({ waves: p.waves.map((w) => w.map((b) => [b.key, b.reason, [...b.dependsOn].sort(), b.coalesceInto ?? null])), skipped: p.skipped.map((s) => `${s.key}: ${s.reason}`).sort() });

async function runSize(n: number) {
  const log = (s: string) => process.stderr.write(`[${n}] ${s}\n`);
  const estate = generateEstate(n, 0xc45cade ^ n);
  const configs: BuildConfig[] = estate.raw.map((r) => {
    const c = checkBuildConfig(r);
    if (!c.ok) throw new Error(`generated BuildConfig is invalid: ${JSON.stringify(c.errors)}`);
    return c.config;
  });
  estate.raw.length = 0;

  const store = new SqliteStore(":memory:");
  const now = "2026-11-25T10:00:00.000Z";
  const clock = { now: () => new Date(now) };
  const quiet = pino({ level: "silent" });
  const builds = new Builds({
    store,
    bus: { publish: async () => undefined },
    runner: { run: () => Promise.reject(new Error("no builder in this benchmark")) },
    clock,
    log: quiet,
    source: "urn:cascade:bench",
    logDir: "/tmp/cascade-bench-logs",
    registry: { auth: {}, insecure: [] },
  });
  const planning = new Planning({ store, builds, clock, log: quiet });
  const fullScan = new FullScanPlanning({ store, builds, clock, log: quiet, resolve: (ref, ns) => builds.resolveRef(ref, ns) });

  // The store: every BuildConfig; a Complete build for 95% (bases with digests, pushed image), a queued one for 1%.
  let t0 = performance.now();
  for (const c of configs) await store.putBuildConfig(c, now);
  const putMs = performance.now() - t0;
  t0 = performance.now();
  const rng = new Rng(0x5eed ^ n);
  const built: BuildConfig[] = [];
  const queued: BuildConfig[] = [];
  for (const c of configs) {
    if (rng.chance(0.95)) built.push(c);
    if (rng.chance(0.01)) queued.push(c);
  }
  const OLD = digestOf(0xdead);
  const nodes = new Map(configs.map((c) => [c, graphNode(c, { resolve: (ref, ns) => builds.resolveRef(ref, ns) })]));
  const request = (c: BuildConfig): BuildRequest => ({
    namespace: c.metadata.namespace ?? "default",
    buildConfig: c.metadata.name,
    causes: [{ type: "ConfigChange", message: "bench", at: now }],
    inputs: sourceInputs(c),
  });
  for (let i = 0; i < built.length; i += 500) {
    const { builds: made } = await store.enqueueBuilds(built.slice(i, i + 500).map(request), { now, logDir: "/tmp/cascade-bench-logs" });
    for (const [k, b] of made.entries()) {
      const node = nodes.get(built[i + k]!)!;
      await store.updateBuild(b.namespace, b.id, {
        phase: "Complete",
        completedAt: now,
        inputs: { ...b.inputs, bases: node.bases.map((name) => ({ name, digest: OLD })) },
        ...(node.output ? { outputs: { image: node.output, digest: digestOf(i + k + 1), tags: [parseImageRef(node.output).tag ?? "latest"] } } : {}),
      });
    }
  }
  for (let i = 0; i < queued.length; i += 500) await store.enqueueBuilds(queued.slice(i, i + 500).map(request), { now, logDir: "/tmp/cascade-bench-logs" });
  const buildsMs = performance.now() - t0;
  gc?.();
  const rssAfterFill = process.memoryUsage().rss;
  log(`store filled: ${configs.length} BuildConfigs (${Math.round(putMs)} ms), ${built.length} Complete and ${queued.length} queued builds (${Math.round(buildsMs)} ms); rss ${mib(process.memoryUsage().rss)} MiB`);

  // Events.
  const erng = new Rng(0xe7e7 ^ n);
  // The kept path's first event loads the estate (as a cold process, or after a change of the planning revision).
  t0 = performance.now();
  const graph = await planning.graph();
  const estateLoadMs = performance.now() - t0;
  log(`estate loaded in ${Math.round(estateLoadMs)} ms`);
  const closure = (image: string) => planImageUpdate(graph, { image, digest: digestOf(1) }, { lastDigest: () => undefined, queuedBuild: () => undefined }).size;
  const externals = [...new Set(EXTERNAL_BASES.map((b) => normalizeImageRef(b)))].map((image) => ({ image, closure: closure(image) })).sort((a, b) => b.closure - a.closure);
  const base10 = [...externals].sort((a, b) => Math.abs(a.closure - n / 10) - Math.abs(b.closure - n / 10))[0]!;
  const typical = externals[Math.floor(externals.length / 2)]!;
  const teams = estate.teamOutputs.map((x) => normalizeImageRef(x)).filter((x) => x.includes("/teambase-"));
  let seq = 0x10000;
  const pushEvents = (count: number) => pushEventsOf(estate, erng, count);
  const imageEvents = (image: string, count: number) => Array.from({ length: count }, () => ({ image, digest: digestOf(seq++) }));

  // Same plans both ways, before anything is timed.
  let checked = 0;
  for (const e of pushEvents(5)) {
    if (shape(await planning.planGitEvent(e)) !== shape(await fullScan.planGitEvent(e))) throw new Error(`plans differ for push ${e.repository.urls[0]} ${e.ref}`);
    checked++;
  }
  for (const e of [...imageEvents(typical.image, 2), ...imageEvents(base10.image, 2), ...imageEvents(erng.pick(teams), 2)]) {
    if (shape(await planning.planImage(e.image, e.digest)) !== shape(await fullScan.planImage(e.image, e.digest))) throw new Error(`plans differ for ${e.image}`);
    checked++;
  }
  log(`both paths agree on ${checked} plans`);

  const fewer = n >= 100_000 ? 3 : 5;
  const counts = { push: 200, image: 30, queued: 10 };
  const kept = {
    push: await time(pushEvents(counts.push), (e) => planning.planGitEvent(e)),
    typicalBase: await time(imageEvents(typical.image, counts.image), (e) => planning.planImage(e.image, e.digest)),
    base10: await time(imageEvents(base10.image, counts.image), (e) => planning.planImage(e.image, e.digest)),
  };
  const scan = {
    push: await time(pushEvents(fewer), (e) => fullScan.planGitEvent(e)),
    typicalBase: await time(imageEvents(typical.image, fewer), (e) => fullScan.planImage(e.image, e.digest)),
    base10: await time(imageEvents(base10.image, fewer), (e) => fullScan.planImage(e.image, e.digest)),
  };
  // Queued for real: alternate the paths; each push to its own repository, each image update on its own team base.
  const pushQueued = async (kept: boolean, e: GitRefEvent) => {
    const candidates = kept ? await planning.repositoryConfigs(e.repository.urls) : (await store.listBuildConfigs()).map((x) => x.config);
    const m = matchGitEvent(e, candidates);
    const cause: BuildCause = { type: "GitHub", message: `GitHub push ${e.refName}`, ref: e.ref, commit: e.after, at: now };
    const roots = m.matched.map(({ config, reason }) => ({
      key: `${config.metadata.namespace ?? "default"}/${config.metadata.name}`,
      reason,
      cause,
      inputs: sourceInputs(config, { commit: e.after, ref: e.refName }),
    }));
    if (!roots.length) return 0;
    const res = await (kept ? planning.submitRoots(roots) : fullScan.submitRoots(roots));
    return res.builds.length + res.coalesced.length;
  };
  const pushKept: number[] = [];
  const pushScan: number[] = [];
  let pushBuilds = 0;
  const queuedPushes = pushEvents(counts.queued * 2);
  for (let k = 0; k < counts.queued; k++) {
    for (const kept of k < fewer ? [true, false] : [true]) {
      const t = performance.now();
      pushBuilds += await pushQueued(kept, queuedPushes[k * 2 + (kept ? 0 : 1)]!);
      (kept ? pushKept : pushScan).push(performance.now() - t);
    }
  }

  const queuedKept: number[] = [];
  const queuedScan: number[] = [];
  let queuedBuilds = 0;
  for (let k = 0; k < fewer; k++) {
    for (const [path, out] of [
      [planning, queuedKept],
      [fullScan, queuedScan],
    ] as const) {
      const image = teams[(k * 2 + (out === queuedScan ? 1 : 0)) % teams.length]!;
      const t = performance.now();
      const res = await path.imageUpdated(image, digestOf(seq++), "bench");
      out.push(performance.now() - t);
      queuedBuilds += res.builds.length + res.coalesced.length;
    }
  }
  for (let k = fewer; k < counts.queued; k++) {
    const t = performance.now();
    const res = await planning.imageUpdated(teams[(k * 2) % teams.length]!, digestOf(seq++), "bench");
    queuedKept.push(performance.now() - t);
    queuedBuilds += res.builds.length + res.coalesced.length;
  }
  const rows = {
    push: { kept: latency(kept.push), scan: latency(scan.push) },
    typicalBase: { kept: latency(kept.typicalBase), scan: latency(scan.typicalBase), closure: typical.closure },
    base10: { kept: latency(kept.base10), scan: latency(scan.base10), closure: base10.closure },
    pushQueued: { kept: latency(pushKept), scan: latency(pushScan), queuedOrCoalesced: pushBuilds },
    teamBaseQueued: { kept: latency(queuedKept), scan: latency(queuedScan), queuedOrCoalesced: queuedBuilds },
  };
  const speedup = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, Number((v.scan.p50Ms / v.kept.p50Ms).toFixed(1))]));
  return {
    size: n,
    fillMs: { buildConfigs: Math.round(putMs), builds: Math.round(buildsMs) },
    estateLoadMs: Math.round(estateLoadMs),
    rssAfterFillMiB: mib(rssAfterFill),
    peakRssMiB: mib(process.resourceUsage().maxRSS * 1024),
    checked,
    rows,
    speedup,
  };
}

type SizeResult = Awaited<ReturnType<typeof runSize>>;

function report(results: SizeResult[]) {
  process.stdout.write(JSON.stringify({ node: process.version, results }) + "\n");
  const ms = (x: number) => (x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(0));
  const rows: string[][] = [["per event, p50 (ms) [events]", ...results.flatMap((r) => [`${r.size.toLocaleString("en")}: kept`, "full scan", "speedup"])]];
  const names: [keyof SizeResult["rows"], string][] = [
    ["push", "push, dry run (planGitEvent)"],
    ["typicalBase", "typical base, dry run (planImage)"],
    ["base10", "10% base, dry run (planImage)"],
    ["pushQueued", "push, queued (match + submitRoots)"],
    ["teamBaseQueued", "team base, queued (imageUpdated)"],
  ];
  for (const [k, label] of names) {
    rows.push([
      label,
      ...results.flatMap((r) => {
        const v = r.rows[k];
        return [`${ms(v.kept.p50Ms)} [${v.kept.events}]`, `${ms(v.scan.p50Ms)} [${v.scan.events}]`, `${r.speedup[k]}x`];
      }),
    ]);
  }
  rows.push(["kept: loading the estate (ms)", ...results.flatMap((r) => [`${r.estateLoadMs}`, "", ""])]);
  rows.push(["RSS after filling the store; peak, both paths (MiB)", ...results.flatMap((r) => [`${r.rssAfterFillMiB}`, `${r.peakRssMiB}`, ""])]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((x, c) => x.padEnd(widths[c]!)).join(" | ")} |`;
  process.stderr.write([line(rows[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)].join("\n") + "\n");
}

const childAt = process.argv.indexOf("--child");
if (childAt >= 0) {
  const result = await runSize(Number(process.argv[childAt + 1]));
  process.stdout.write(JSON.stringify(result) + "\n");
} else {
  const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
  const results: SizeResult[] = [];
  for (const n of sizes.length ? sizes : [10_000, 100_000]) {
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
